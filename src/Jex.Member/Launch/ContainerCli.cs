using System.Diagnostics;
using System.Text;

namespace Jex.Member.Launch;

/// <summary>
/// The container CLI: <c>docker</c>, or <c>podman</c> (which accepts the same commands). Runs one
/// short command at a time and captures its output; the long-lived <c>run</c> is started by
/// <see cref="ContainerLauncher"/> itself.
/// </summary>
internal sealed class ContainerCli
{
    /// <summary>Environment variable naming the CLI when the job does not.</summary>
    public const string EnvironmentVariable = "JEX_CONTAINER_CLI";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(15);
    private static readonly SemaphoreSlim AutoLock = new(1, 1);
    private static ContainerCli? _auto;

    public ContainerCli(string executable) => Executable = executable;

    /// <summary>The resolved executable: a full path, or a name the OS finds on PATH.</summary>
    public string Executable { get; }

    /// <summary>True when the CLI is podman or podman's docker shim (for podman-specific hints).</summary>
    public bool IsPodman => Path.GetFileName(Executable).Contains("podman", StringComparison.Ordinal);

    /// <summary>
    /// The CLI to use: <paramref name="configured"/> when given, else <c>JEX_CONTAINER_CLI</c>, else
    /// <c>docker</c> if <c>docker version</c> reaches an engine (a docker CLI with no daemon, as on
    /// this project's machines, does not count), else <c>podman</c>. The automatic choice is made
    /// once per process.
    /// </summary>
    public static async Task<ContainerCli> ResolveAsync(string? configured, CancellationToken cancellationToken)
    {
        var explicitName = !string.IsNullOrWhiteSpace(configured) ? configured : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitName))
        {
            return FindExecutable(explicitName) is { } found
                ? new ContainerCli(found)
                : throw new RuntimeStartException(
                    $"container CLI '{explicitName}' not found (set by {(string.IsNullOrWhiteSpace(configured) ? EnvironmentVariable : "the job")}); install docker or podman")
                {
                    IsFinal = true,
                };
        }

        await AutoLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _auto ??= await DetectAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            AutoLock.Release();
        }
    }

    private static async Task<ContainerCli> DetectAsync(CancellationToken cancellationToken)
    {
        string? dockerProblem = null;
        if (FindExecutable("docker") is { } docker)
        {
            var cli = new ContainerCli(docker);
            var probe = await cli.RunAsync(["version"], ProbeTimeout, cancellationToken).ConfigureAwait(false);
            if (probe.ExitCode == 0)
            {
                return cli;
            }

            dockerProblem = $"docker is installed but `docker version` failed: {probe.LastErrorLine}";
        }

        if (FindExecutable("podman") is { } podman)
        {
            return new ContainerCli(podman);
        }

        throw new RuntimeStartException(
            "container mode needs docker or podman: " + (dockerProblem ?? "neither is on PATH") +
            $"; install one (apt-get install podman runc) or name one with {EnvironmentVariable}")
        {
            IsFinal = true,
        };
    }

    /// <summary>A name searched on PATH, or a path; null when there is no such executable file.</summary>
    public static string? FindExecutable(string nameOrPath)
    {
        if (nameOrPath.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(nameOrPath) ? Path.GetFullPath(nameOrPath) : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, nameOrPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts the CLI; null when it runs, else the result that says why it could not start.</summary>
    private CliResult? TryStart(Process process)
    {
        try
        {
            process.Start();
            return null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new CliResult(-1, "", $"cannot start {Executable}: {ex.Message}");
        }
    }

    /// <summary>Runs one CLI command to completion; a command still running after <paramref name="timeout"/> is killed.</summary>
    public async Task<CliResult> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var process = new Process { StartInfo = StartInfo(arguments) };
        if (TryStart(process) is { } notStarted)
        {
            return notStarted;
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            TryKill(process);
            if (ex is OperationCanceledException)
            {
                throw;
            }

            return new CliResult(-1, "", $"`{Describe(arguments)}` did not finish within {timeout.TotalSeconds:0.#} s");
        }

        return new CliResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Synchronous form for <see cref="IRuntimeInstance.Kill"/>, which is not async.</summary>
    public CliResult Run(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        using var process = new Process { StartInfo = StartInfo(arguments) };
        if (TryStart(process) is { } notStarted)
        {
            return notStarted;
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            TryKill(process);
            return new CliResult(-1, "", $"`{Describe(arguments)}` did not finish within {timeout.TotalSeconds:0.#} s");
        }

        return new CliResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>The command as a user would type it, for messages.</summary>
    public string Describe(IReadOnlyList<string> arguments)
    {
        var text = new StringBuilder(Path.GetFileName(Executable));
        foreach (var argument in arguments)
        {
            text.Append(' ').Append(argument.Contains(' ', StringComparison.Ordinal) ? $"'{argument}'" : argument);
        }

        return text.ToString();
    }

    public ProcessStartInfo StartInfo(IReadOnlyList<string> arguments)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Closed at once: the container must never read the member's own stdin.
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        return psi;
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}

/// <summary>The outcome of one CLI command.</summary>
internal readonly record struct CliResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The last non-empty line of stderr (the CLI's error), or of stdout.</summary>
    public string LastErrorLine
    {
        get
        {
            var text = string.IsNullOrWhiteSpace(StdErr) ? StdOut : StdErr;
            var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            return line ?? $"exit code {ExitCode}, no output";
        }
    }
}

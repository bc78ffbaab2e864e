using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Jex.FunctionalTests.Member;

/// <summary>
/// Runs the real published binaries from <c>./demo.sh build</c>: <c>out/cli/jex</c>, which forks
/// <c>out/runtime/jex-runtime</c> on <c>out/samples</c>.
/// </summary>
internal static class JexCli
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Out => Path.Combine(RepoRoot, "out");

    public static string Cli => Path.Combine(Out, "cli", "jex");

    public static string Runtime => Path.Combine(Out, "runtime", "jex-runtime");

    public static string Samples => Path.Combine(Out, "samples", "Jex.Samples");

    public static string Job(string name) => Path.Combine(RepoRoot, "jobs", name);

    /// <summary>Fails with a clear message when the binaries are missing.</summary>
    public static void RequireBuilt()
    {
        foreach (var path in new[] { Cli, Runtime, Samples })
        {
            Assert.True(File.Exists(path) || Directory.Exists(path), $"{path} is missing: run ./demo.sh build first");
        }
    }

    public static Task<CliResult> RunAsync(IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null, Action<string, Process>? onStderr = null) =>
        StartAsync(Cli, args, timeout, env, onStderr);

    public static async Task<CliResult> StartAsync(string file, IEnumerable<string> args, TimeSpan timeout, IDictionary<string, string>? env = null, Action<string, Process>? onStderr = null)
    {
        RequireBuilt();
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }

                onStderr?.Invoke(e.Data, process);
            }
        };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within {timeout}.\nstdout:\n{stdout}\nstderr:\n{stderr}");
        }

        return new CliResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Jex.sln not found");
    }
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string SummaryLine => Assert.Single(StdoutLines, l => l.StartsWith("job ", StringComparison.Ordinal) && l.Contains(" completed: ", StringComparison.Ordinal));

    public override string ToString() => $"exit {ExitCode} after {Elapsed}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

using System.Diagnostics;
using System.Globalization;

namespace Jex.Cli.Run;

/// <summary>
/// Builds a user-code .csproj in Release into <c>obj/jex/bin/</c> beside it and returns that folder.
/// It prints a line per project built, a line every few seconds while the build is quiet, and the
/// compiler's errors, so a first build (restore included) never looks like a hang.
/// </summary>
internal sealed class UserCodeBuilder
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);
    private readonly TextWriter _progress;

    public UserCodeBuilder(TextWriter progress) => _progress = progress;

    /// <summary>Where the build of <paramref name="project"/> puts its output.</summary>
    public static string OutputDirectory(string project) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(project)) ?? ".", "obj", "jex", "bin");

    /// <summary>Builds the project; returns its output folder.</summary>
    /// <exception cref="PreflightException">The build failed; the message names the project and its first error.</exception>
    public async Task<string> BuildAsync(string project, string key, CancellationToken cancellationToken)
    {
        var output = OutputDirectory(project);
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(project)) ?? ".",
        };
        foreach (var arg in new[] { "build", Path.GetFullPath(project), "-c", "Release", "-o", output, "-nologo", "-v:m", "-tl:off", "-clp:NoSummary" })
        {
            psi.ArgumentList.Add(arg);
        }

        // jex may itself run under dotnet test or MSBuild: their MSBuild variables would point the
        // child build at another SDK's tasks.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(name);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";

        var clock = Stopwatch.StartNew();
        await _progress.WriteLineAsync($"jex: building {project} (dotnet build -c Release, output {output})").ConfigureAwait(false);
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new PreflightException($"{key}: cannot start 'dotnet' to build {project}: {ex.Message}; install the .NET SDK or give the built folder instead of the .csproj");
        }

        var errors = new List<string>();
        var lastLine = clock.Elapsed;
        async Task PumpAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                var arrow = line.IndexOf(" -> ", StringComparison.Ordinal);
                if (line.Contains(": error ", StringComparison.Ordinal))
                {
                    lock (errors)
                    {
                        if (!errors.Contains(line.Trim()))
                        {
                            errors.Add(line.Trim());
                            _progress.WriteLine("jex:   " + line.Trim());
                        }
                    }
                }
                else if (arrow > 0)
                {
                    lock (errors)
                    {
                        lastLine = clock.Elapsed;
                        _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"jex:   built {line[..arrow].Trim()} ({clock.Elapsed.TotalSeconds:0} s)"));
                    }
                }
                else if (line.Contains("Restored ", StringComparison.Ordinal))
                {
                    lock (errors)
                    {
                        lastLine = clock.Elapsed;
                        _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"jex:   restored packages ({clock.Elapsed.TotalSeconds:0} s)"));
                    }
                }
            }
        }

        var pumps = Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError));
        using var heartbeat = new PeriodicTimer(Heartbeat);
        var exit = process.WaitForExitAsync(cancellationToken);
        try
        {
            while (!exit.IsCompleted)
            {
                var tick = heartbeat.WaitForNextTickAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(exit, tick).ConfigureAwait(false) == tick)
                {
                    lock (errors)
                    {
                        if (clock.Elapsed - lastLine >= Heartbeat - TimeSpan.FromMilliseconds(100))
                        {
                            _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"jex:   still building ({clock.Elapsed.TotalSeconds:0} s)"));
                        }
                    }
                }
            }

            await exit.ConfigureAwait(false);
            await pumps.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            var first = errors.Count > 0 ? errors[0] : "no error line in its output; run the same dotnet build by hand to see it";
            throw new PreflightException($"{key}: dotnet build of {project} failed (exit {process.ExitCode}): {first}; fix the build and run again");
        }

        await _progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"jex: built {Path.GetFileName(project)} in {clock.Elapsed.TotalSeconds:0.0} s")).ConfigureAwait(false);
        return output;
    }
}

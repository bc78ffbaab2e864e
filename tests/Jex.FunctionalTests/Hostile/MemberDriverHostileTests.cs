using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Jex.FunctionalTests.Member;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// Issue #11, "no stop loses a job": the real <c>jex run</c> against a real forked runtime that is
/// stopped the way operators stop things (SIGTERM), or cannot start, or is not there.
/// </summary>
public sealed partial class MemberDriverHostileTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(180);

    public static TheoryData<string> Transports => new() { "grpc", "shared-memory" };

    /// <summary>
    /// Row 2: SIGTERM (docker stop, an eviction) makes the runtime drain and send Drained unasked.
    /// The driver used to take that for the end of the job and hang at in != out.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Run_WhenTheForkedRuntimeGetsSigtermMidRun_RestartsReplaysAndEveryKeyArrivesExactlyOnce(string transport)
    {
        const int Count = 100_000;
        using var dir = new TempDirectory("jex-member");
        var output = dir.File("out.jsonl");
        var job = transport == "grpc" ? "dotnet-process-grpc.yml" : "dotnet-process-shmem.yml";
        var firstPid = 0;
        var signalled = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        var result = await JexCli.RunAsync(
            ["run", JexCli.Job(job), "--generate", Count.ToString(CultureInfo.InvariantCulture), "--rate", "10000", "--output", output, "--show", "0"],
            JobTimeout,
            onStderr: (line, _) =>
            {
                if (RuntimeReady().Match(line) is { Success: true } ready)
                {
                    Interlocked.CompareExchange(ref firstPid, int.Parse(ready.Groups[1].Value, CultureInfo.InvariantCulture), 0);
                    return;
                }

                // Signal once results flow (the progress line says so), so batches are in flight.
                if (Progress().Match(line) is { Success: true } progress && long.Parse(progress.Groups[1].Value, CultureInfo.InvariantCulture) > 0
                    && Volatile.Read(ref firstPid) is var pid and > 0 && signalled.TrySetResult(pid))
                {
                    using var kill = Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);
                }
            });

        Assert.True(signalled.Task.IsCompletedSuccessfully, "the runtime was never signalled:\n" + result);
        var killedPid = await signalled.Task;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches($@" in={Count} out={Count} errors=0 restarts=[1-9]\d* transport={Regex.Escape(transport)} ", result.SummaryLine);
        // It was a graceful stop, not a crash: the runtime drained and exited 0 ...
        Assert.True(result.Stderr.Contains($"Runtime pid {killedPid} exited with code 0", StringComparison.Ordinal), $"runtime {killedPid} did not exit 0:\n{result}");
        // ... and the driver said that it restarts it, and that it replays.
        Assert.Contains("] runtime lost (", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("restart 1 in ", result.Stderr, StringComparison.Ordinal);
        var seen = new HashSet<string>();
        foreach (var line in File.ReadLines(output))
        {
            using var doc = JsonDocument.Parse(line);
            var key = doc.RootElement.GetProperty("key").GetString()!;
            Assert.True(seen.Add(key), $"{key} reached the sink twice");
        }

        Assert.Equal(Count, seen.Count);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"key-{i}").ToHashSet(), seen);
    }

    public static TheoryData<string, string, int, string> FinalStartErrors => new()
    {
        // A key with a value the runtime refuses: exit 2, its line names the key.
        { "bad-config", "--UserCode:MaxInFlight=0", 2, "jex-runtime: configuration error: UserCode:MaxInFlight 0 is out of range 1..1024" },
        // (User code that does not exist never reaches the runtime: jex run's preflight ends the job
        // with exit 2 first; see Cli/RunPreflightTests.)
        // User code that exists but does not load: exit 3, its line names the file.
        { "broken-code", "", 3, "jex-runtime: " },
    };

    /// <summary>Exit codes 2 and 3 from the runtime are final: one error line, no restart loop.</summary>
    [Theory]
    [MemberData(nameof(FinalStartErrors))]
    public async Task Run_WhenTheRuntimeRefusesToStart_FailsAtOnceWithItsOwnLineAndNoRestart(string kind, string runtimeArg, int code, string expected)
    {
        using var dir = new TempDirectory("jex-member");
        var userCode = kind switch
        {
            "broken-code" => dir.File("Broken.dll"),
            _ => JexCli.Samples,
        };
        if (kind == "broken-code")
        {
            await File.WriteAllTextAsync(userCode, "this is not an assembly");
        }

        var job = dir.File("final.yml");
        await File.WriteAllTextAsync(job, $"""
            job:
              name: final
              pipeline:
                - source: map-journal
                  map-name: m
                - transform: user-code
                  runtime:
                    service:
                      process:
                        path: {JexCli.Runtime}
                        args: [{(runtimeArg.Length > 0 ? $"\"{runtimeArg}\"" : "")}]
                    user-code: {userCode}
                  function: identity
                  format: text
                - sink: map
                  map-name: r
            """);
        var clock = Stopwatch.StartNew();

        var result = await JexCli.RunAsync(["run", job, "--input", JexCli.Job("data/streamed-map.jsonl")], TimeSpan.FromSeconds(90));

        Assert.True(result.ExitCode == code, result.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}:\n{result}");
        var failure = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("job final failed", StringComparison.Ordinal));
        Assert.Contains($"exit code {code}; not restarting): {expected}", failure, StringComparison.Ordinal);
        if (kind != "bad-config")
        {
            Assert.Contains(Path.GetFileName(userCode), failure, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("restart 1", result.Stderr, StringComparison.Ordinal);
        Assert.Single(RuntimeStarting().Matches(result.Stderr));
    }

    /// <summary>Passthru with nothing listening: the address and how to start a runtime, at once.</summary>
    [Fact]
    public async Task Run_WhenThePassthruRuntimeIsNotThere_FailsFastNamingTheAddressAndHowToStartOne()
    {
        var port = JexCli.FreeTcpPort();
        var clock = Stopwatch.StartNew();

        var result = await JexCli.RunAsync(
            ["run", JexCli.Job("dotnet-passthru-grpc.yml"), $"PORT={port}", "--token", "t", "--show", "0"], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}:\n{result}");
        var failure = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("job ", StringComparison.Ordinal) && l.Contains(" failed", StringComparison.Ordinal));
        Assert.Contains($"no runtime at http://127.0.0.1:{port}: connection refused; start one with `jex-runtime --UserCode:Grpc:Port={port}", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("runtime lost", result.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Runtime ready: pid (\d+)")]
    private static partial Regex RuntimeReady();

    [GeneratedRegex(@"^progress \d+s: in=\d+ \(\d+/s\) out=(\d+)")]
    private static partial Regex Progress();

    [GeneratedRegex(@"Starting runtime ")]
    private static partial Regex RuntimeStarting();
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Member;

/// <summary>
/// <c>jex run</c> end to end: the real CLI forks the real runtime on the real samples.
/// </summary>
public sealed partial class RunJobTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Run_WhenTheDemoJobRunsWithNoArguments_PrintsTheSeedsLinesAndOneSummary()
    {
        var result = await JexCli.RunAsync(["run", "jobs/dotnet-process-grpc.yml"], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Add entry to streamed-map: example-key-20 = SomeThing(Value=20)", result.StdoutLines);
        Assert.Contains("Found: example-key-20 = OtherThing(Value=__20__)", result.StdoutLines);
        Assert.Matches(
            @"^job dotnet-process-grpc completed: in=5 out=5 errors=0 restarts=0 transport=grpc service=process elapsed=\d+\.\d\ds p99_ms=\d+\.\d\d$",
            result.SummaryLine);
    }

    public static TheoryData<string> SinkContentJobs => new() { "process-grpc", "process-grpc-unix-socket", "passthru-grpc", "process-shmem" };

    [Theory]
    [MemberData(nameof(SinkContentJobs))]
    public async Task Run_WhenTheSameInputGoesThroughEachJob_TheSinkContentIsIdentical(string variant)
    {
        using var dir = new TempDirectory("jex-member");
        var input = dir.File("in.jsonl");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, 2000).Select(i => $$$"""{"key":"k-{{{i}}}","value":{"value":{{{i}}}}}"""));
        var expected = Enumerable.Range(0, 2000).Select(i => $$$"""{"key":"k-{{{i}}}","value":{"value":"__{{{i}}}__"}}""").ToList();
        var output = dir.File("out.jsonl");
        string[] common = ["--input", input, "--output", output, "--show", "0"];

        CliResult result;
        switch (variant)
        {
            case "process-grpc":
                result = await JexCli.RunAsync(["run", JexCli.Job("dotnet-process-grpc.yml"), .. common], JobTimeout);
                break;
            case "process-shmem":
                result = await JexCli.RunAsync(["run", JexCli.Job("dotnet-process-shmem.yml"), .. common], JobTimeout);
                break;
            case "process-grpc-unix-socket":
            {
                var job = dir.File("uds.yml");
                var socket = dir.File("rt.sock");
                var yaml = (await File.ReadAllTextAsync(JexCli.Job("dotnet-process-grpc.yml")))
                    .Replace("port: 0 ", $"socket: {socket} ", StringComparison.Ordinal);
                Assert.Contains(socket, yaml, StringComparison.Ordinal);
                await File.WriteAllTextAsync(job, yaml);
                result = await JexCli.RunAsync(["run", job, $"JEX_OUT={JexCli.Out}", .. common], JobTimeout);
                Assert.False(File.Exists(socket), "the runtime left its socket behind");
                break;
            }

            default:
                result = await RunPassthruAsync(common);
                break;
        }

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.SummaryLine.Contains(" in=2000 out=2000 errors=0 restarts=0 ", StringComparison.Ordinal), result.ToString());
        // preserve-order is on in every shipped job: the put log is in journal order.
        Assert.Equal(expected, await File.ReadAllLinesAsync(output));
    }

    [Fact]
    public async Task Run_WithASharedMemoryWaitInTheJob_TheForkedRuntimeWaitsThatWay()
    {
        using var dir = new TempDirectory("jex-member");
        var job = dir.File("shm-spin.yml");
        var yaml = (await File.ReadAllTextAsync(JexCli.Job("dotnet-process-shmem.yml")))
            .Replace("transport: shared-memory ", "transport: {shared-memory: {wait: spin}} ", StringComparison.Ordinal);
        Assert.Contains("wait: spin", yaml, StringComparison.Ordinal);
        await File.WriteAllTextAsync(job, yaml);

        var result = await JexCli.RunAsync(["run", job, $"JEX_OUT={JexCli.Out}", "--generate", "50", "--verbose"], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(" in=50 out=50 errors=0 ", result.SummaryLine, StringComparison.Ordinal);
        // The runtime's own start-up line (shown with --verbose) names the mode it was given.
        Assert.Matches(@"Shared memory: created /dev/shm/jex-\S+ \(.*wait spin: spin \d+ us", result.Stderr);
    }

    private static async Task<CliResult> RunPassthruAsync(string[] common)
    {
        var port = JexCli.FreeTcpPort();
        var token = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var psi = new ProcessStartInfo(JexCli.Runtime)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add($"--UserCode:Path={JexCli.Samples}");
        psi.ArgumentList.Add($"--UserCode:Grpc:Port={port}");
        psi.ArgumentList.Add($"--UserCode:ParentPid={Environment.ProcessId}");
        psi.Environment["UserCode__Token"] = token;
        using var runtime = Process.Start(psi)!;
        try
        {
            var ready = new TaskCompletionSource();
            runtime.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("JEX-READY ", StringComparison.Ordinal) == true)
                {
                    ready.TrySetResult();
                }
            };
            runtime.ErrorDataReceived += (_, _) => { };
            runtime.BeginOutputReadLine();
            runtime.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));

            return await JexCli.RunAsync(["run", JexCli.Job("dotnet-passthru-grpc.yml"), $"PORT={port}", "--token", token, .. common], JobTimeout);
        }
        finally
        {
            runtime.Kill(entireProcessTree: true);
            await runtime.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    public static TheoryData<string> KillTransports => new() { "grpc", "shared-memory" };

    [Theory]
    [MemberData(nameof(KillTransports))]
    public async Task Run_WhenTheForkedRuntimeIsKilledMidRun_RestartsReplaysAndEveryKeyArrivesOnce(string transport)
    {
        using var dir = new TempDirectory("jex-member");
        var output = dir.File("out.jsonl");
        var job = transport == "grpc" ? "dotnet-process-grpc.yml" : "dotnet-process-shmem.yml";
        var killed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstPid = 0;

        var result = await JexCli.RunAsync(
            ["run", JexCli.Job(job), "--generate", "200000", "--rate", "50000", "--output", output],
            JobTimeout,
            onStderr: (line, cli) =>
            {
                // The driver logs the runtime's pid when it is ready; kill it once results flow
                // (a progress line with out > 0), so batches are in flight.
                var ready = RuntimeReady().Match(line);
                if (ready.Success)
                {
                    Interlocked.CompareExchange(ref firstPid, int.Parse(ready.Groups[1].Value, CultureInfo.InvariantCulture), 0);
                    return;
                }

                if (ProgressOut().Match(line) is { Success: true } progress && long.Parse(progress.Groups[1].Value, CultureInfo.InvariantCulture) > 0
                    && Volatile.Read(ref firstPid) is var pid and > 0 && killed.TrySetResult(pid))
                {
                    Process.GetProcessById(pid).Kill();
                }
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(killed.Task.IsCompletedSuccessfully, "the runtime was never killed:\n" + result);
        Assert.Matches(@" in=200000 out=200000 errors=0 restarts=[1-9]\d* transport=" + Regex.Escape(transport) + " ", result.SummaryLine);
        var seen = new HashSet<string>();
        var lines = 0;
        foreach (var line in File.ReadLines(output))
        {
            lines++;
            using var doc = JsonDocument.Parse(line);
            var key = doc.RootElement.GetProperty("key").GetString()!;
            var n = key["key-".Length..];
            Assert.True(seen.Add(key), $"{key} reached the sink twice");
            Assert.Equal($"__{n}__", doc.RootElement.GetProperty("value").GetProperty("value").GetString());
        }

        Assert.Equal(200_000, lines);
        Assert.Equal(200_000, seen.Count);
    }

    [Fact]
    public async Task Run_WhenJexGetsSigterm_ItStopsTheRuntimeGracefullyAndExits130()
    {
        var signalled = 0;
        var result = await JexCli.RunAsync(
            ["run", JexCli.Job("dotnet-process-grpc.yml"), "--generate", "10000000", "--rate", "20000", "--show", "0"],
            JobTimeout,
            onStderr: (line, cli) =>
            {
                if (line.Contains("session open on", StringComparison.Ordinal) && Interlocked.Exchange(ref signalled, 1) == 0)
                {
                    using var kill = Process.Start("kill", ["-TERM", cli.Id.ToString(CultureInfo.InvariantCulture)]);
                }
            });

        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Contains("failed", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("cancelled", result.Stderr, StringComparison.Ordinal);
        var pid = RuntimeReady().Match(result.Stderr).Groups[1].Value;
        // SIGTERM, not SIGKILL: the runtime drained and exited cleanly before jex did.
        Assert.Contains($"Runtime pid {pid} exited with code 0", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"runtime {pid} outlived jex");
    }

    [Fact]
    public async Task Run_WhenOrderIsPreservedWithFourInFlight_ResultsKeepJournalOrderDespiteVaryingLatency()
    {
        using var dir = new TempDirectory("jex-member");
        var input = dir.File("in.jsonl");
        // Batches of one item; early items sleep longest, so without ordering later ones would overtake.
        var sleeps = Enumerable.Range(0, 24).Select(i => (i % 4) switch { 0 => 300, 1 => 150, 2 => 60, _ => 0 }).ToList();
        await File.WriteAllLinesAsync(input, sleeps.Select((s, i) => $$"""{"key":"k{{i:00}}","value":"sleep:{{s}}"}"""));
        var expectedOrder = Enumerable.Range(0, 24).Select(i => $"k{i:00}").ToList();

        async Task<List<string>> RunAsync(bool preserve)
        {
            var job = dir.File($"order-{preserve}.yml");
            await File.WriteAllTextAsync(job, OrderJob(preserve));
            var output = dir.File($"out-{preserve}.jsonl");
            var result = await JexCli.RunAsync(["run", job, "--input", input, "--output", output], JobTimeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains(" in=24 out=24 errors=0 ", result.SummaryLine, StringComparison.Ordinal);
            return [.. File.ReadLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()!)];
        }

        Assert.Equal(expectedOrder, await RunAsync(preserve: true));
        // The control: the same job without preserve-order really does reorder, so the check above can fail.
        var unordered = await RunAsync(preserve: false);
        Assert.Equal(expectedOrder.Order(), unordered.Order());
        Assert.NotEqual(expectedOrder, unordered);
    }

    private static string OrderJob(bool preserve, string function = "sleepy") => $"""
        job:
          name: order
          pipeline:
            - source: map-journal
              map-name: m
            - transform: user-code
              runtime:
                service:
                  process:
                    path: {JexCli.Runtime}
                user-code: {JexCli.Samples}
              function: {function}
              format: text
              parallel-operations: 4
              preserve-order: {(preserve ? "true" : "false")}
              batch-max-items: 1
            - sink: map
              map-name: r
        """;

    [Fact]
    public async Task Run_WhenUserCodeLogs_TheLinesAppearInTheDriversLogTaggedWithJobStageAndBatch()
    {
        using var dir = new TempDirectory("jex-member");
        var input = dir.File("in.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"key\":\"a\",\"value\":\"hello-1\"}", "{\"key\":\"b\",\"value\":\"hello-2\"}"]);
        var job = dir.File("log.yml");
        await File.WriteAllTextAsync(job, OrderJob(true, "logAndEcho"));

        var result = await JexCli.RunAsync(["run", job, "--input", input], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Found: a = hello-1", result.StdoutLines);
        var logged = result.Stderr.Split('\n').Where(l => l.Contains("processing hello-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, logged.Count);
        Assert.All(logged, l => Assert.Matches(@"INF\] \[order/transform\] batch \d+ \S+: processing hello-\d from partition \d+", l));
    }

    [Fact]
    public async Task Run_WhenTheJobFileHasAnUnknownStage_ExitsTwoNamingFileLineAndKey()
    {
        using var dir = new TempDirectory("jex-member");
        var job = dir.File("bad.yml");
        await File.WriteAllTextAsync(job, OrderJob(true).Replace("- transform: user-code", "- transform: cobol", StringComparison.Ordinal));

        var result = await JexCli.RunAsync(["run", job], TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{job}:6: job.pipeline[1].transform: unsupported transform 'cobol' (supported: user-code)", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(" completed: ", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WhenAnInputLineIsBad_FailsBeforeRunningWithFileAndLine()
    {
        using var dir = new TempDirectory("jex-member");
        var input = dir.File("in.jsonl");
        var output = dir.File("out.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"key\":\"a\",\"value\":{\"value\":1}}", "{\"key\":\"b\",\"value\":{\"value\":2}", "{\"key\":\"c\",\"value\":{\"value\":3}}"]);

        var result = await JexCli.RunAsync(["run", JexCli.Job("dotnet-process-grpc.yml"), "--input", input, "--output", output], TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{input}:2: not valid JSON", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output), "nothing may run when the input is bad");
    }

    [GeneratedRegex(@"Runtime ready: pid (\d+)")]
    private static partial Regex RuntimeReady();

    [GeneratedRegex(@"^progress \d+s: in=\d+ \(\d+/s\) out=(\d+)")]
    private static partial Regex ProgressOut();
}

using System.Text.Json;
using System.Text.RegularExpressions;
using Jex.FunctionalTests.Member;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// The live-code demo with real processes: <c>jex run JOB --generate 200000 --rate 40000 --watch</c>
/// on a copy of out/samples/Jex.Samples, and out/samples-v2/Jex.Samples copied over it while
/// events flow.
/// </summary>
/// <remarks>
/// What the output file shows, and why: the jobs run with parallel-operations 4 and
/// preserve-order: true, so the sink receives batches in journal order whatever order their
/// results came in. The runtime binds a batch to a version when it accepts it, in the order the
/// batches arrive on the session, which is the order the driver sends them: journal order, as no
/// restart happens here. So the versions in sink order are all v1 then all v2: exactly one switch
/// point, and within a batch one version only. That is the assertion, item by item.
/// </remarks>
public sealed partial class LiveCodeRunTests : IDisposable
{
    private const int Events = 200_000;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);
    private readonly ITestOutputHelper _output;
    private readonly string _root = Directory.CreateTempSubdirectory("jex-livecode-").FullName;

    public LiveCodeRunTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string SamplesV2 => Path.Combine(JexCli.Out, "samples-v2", "Jex.Samples");

    [Theory]
    [InlineData("dotnet-process-grpc.yml", "grpc")]
    [InlineData("dotnet-process-shmem.yml", "shared-memory")]
    public async Task Watch_WhenVersion2IsCopiedOverTheUserCodeMidRun_SwitchesOnceWithNoEventLostOrRepeated(string job, string transport)
    {
        Assert.True(Directory.Exists(SamplesV2), $"{SamplesV2} is missing: run ./demo.sh build first");
        var (jexOut, watched) = CopyUserCode();

        var output = Path.Combine(_root, "o.jsonl");
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = JexCli.RunAsync(
            ["run", JexCli.Job(job), "JEX_OUT=" + jexOut, "--generate", Events.ToString(System.Globalization.CultureInfo.InvariantCulture), "--rate", "40000", "--output", output, "--watch", "--show", "0"],
            RunTimeout,
            onStderr: (line, _) =>
            {
                if (line.StartsWith("jex run --watch: watching ", StringComparison.Ordinal))
                {
                    watching.TrySetResult();
                }
            });

        if (await Task.WhenAny(watching.Task, run).WaitAsync(RunTimeout) == run)
        {
            Assert.Fail("jex run ended before it said it watches: " + await run);
        }

        await WaitForFirstResultsAsync(output, run, RunTimeout);
        foreach (var file in Directory.GetFiles(SamplesV2))
        {
            File.Copy(file, Path.Combine(watched, Path.GetFileName(file)), overwrite: true);
        }

        var result = await run;
        _output.WriteLine(result.Stderr);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches($"^job dotnet-process-\\w+ completed: in={Events} out={Events} errors=0 restarts=0 deploys=1 transport={transport} ", result.SummaryLine);
        var deploy = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("deploy ", StringComparison.Ordinal));
        Assert.Matches(@"^deploy 1: v1 \(was v0\) from .*: \d+ file\(s\), [\d.]+ KiB; upload [\d.]+ ms, switch [\d.]+ ms \(load [\d.]+ ms\), first result on it [\d.]+ ms after Activate", deploy);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var switchAt = -1;
        var index = 0;
        foreach (var line in File.ReadLines(output))
        {
            using var doc = JsonDocument.Parse(line);
            var key = doc.RootElement.GetProperty("key").GetString()!;
            var value = doc.RootElement.GetProperty("value").GetProperty("value").GetString()!;
            Assert.True(seen.Add(key), $"key {key} written twice (line {index + 1})");
            var match = KeyNumber().Match(key);
            Assert.True(match.Success, $"unexpected key {key}");
            var n = match.Groups[1].Value;
            var isV2 = value == $"__{n}__v2";
            Assert.True(isV2 || value == $"__{n}__", $"line {index + 1}: {key} has value {value}");
            if (isV2 && switchAt < 0)
            {
                switchAt = index;
            }

            Assert.True(switchAt < 0 || isV2, $"line {index + 1}: {key} = {value} comes after the switch to v2 at line {switchAt + 1}");
            index++;
        }

        Assert.Equal(Events, seen.Count);
        Assert.True(switchAt > 0, $"no v1 result before the switch (switch at line {switchAt + 1}): the copy came too late or too early");
        _output.WriteLine($"{transport}: switch point at line {switchAt + 1} of {Events}; {deploy}");
    }

    [Fact]
    public async Task Watch_WhenTheNewCodeDoesNotLoad_SaysWhyAndTheJobFinishesOnTheOldVersion()
    {
        var (jexOut, watched) = CopyUserCode();

        var output = Path.Combine(_root, "o.jsonl");
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = JexCli.RunAsync(
            ["run", JexCli.Job("dotnet-process-grpc.yml"), "JEX_OUT=" + jexOut, "--generate", "100000", "--rate", "25000", "--output", output, "--watch", "--show", "0"],
            RunTimeout,
            onStderr: (line, _) =>
            {
                if (line.StartsWith("jex run --watch: watching ", StringComparison.Ordinal))
                {
                    watching.TrySetResult();
                }
            });
        if (await Task.WhenAny(watching.Task, run).WaitAsync(RunTimeout) == run)
        {
            Assert.Fail("jex run ended before it said it watches: " + await run);
        }

        await WaitForFirstResultsAsync(output, run, RunTimeout);
        var dll = Path.Combine(watched, "Jex.Samples.dll");
        var bytes = await File.ReadAllBytesAsync(dll);
        await File.WriteAllBytesAsync(dll, bytes[..(bytes.Length / 2)]);

        var result = await run;

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches("^job dotnet-process-grpc completed: in=100000 out=100000 errors=0 restarts=0 deploys=0 transport=grpc ", result.SummaryLine);
        var failure = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("jex run --watch: deploy of ", StringComparison.Ordinal));
        Assert.Matches($"^jex run --watch: deploy of {Regex.Escape(watched)} failed: activation of v1 was refused, the current version keeps serving: .+; the job keeps running on version v0$", failure);
        Assert.DoesNotContain(result.Stderr.Split('\n'), l => l.StartsWith("deploy ", StringComparison.Ordinal));
        var values = File.ReadLines(output).Select(ValueOf).ToList();
        Assert.Equal(100_000, values.Count);
        Assert.All(values, v => Assert.Matches("^__\\d+__$", v));
    }

    [Fact]
    public async Task Watch_WhenTheUserCodeIsACsproj_RebuildsOnASourceChangeAndDeploysTheBuild()
    {
        var project = WriteProject("one");
        var job = Path.Combine(_root, "job.yml");
        await File.WriteAllTextAsync(job, """
            job:
              name: acme
              pipeline:
                - source: map-journal
                  map-name: input
                - transform: user-code
                  function: tag
                  runtime:
                    user-code: src/Acme.Tag/Acme.Tag.csproj
                  parallel-operations: 4
                - sink: map
                  map-name: output
            """);
        var output = Path.Combine(_root, "o.jsonl");
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // 60 s of events: room for a rebuild on a busy machine.
        var run = JexCli.RunAsync(
            ["run", job, "--generate", "600000", "--rate", "10000", "--output", output, "--watch", "--show", "0"],
            TimeSpan.FromSeconds(300),
            onStderr: (line, _) =>
            {
                if (line.StartsWith("jex run --watch: watching ", StringComparison.Ordinal))
                {
                    watching.TrySetResult();
                }
            });
        if (await Task.WhenAny(watching.Task, run).WaitAsync(TimeSpan.FromSeconds(300)) == run)
        {
            Assert.Fail("jex run ended before it said it watches: " + await run);
        }

        await WaitForFirstResultsAsync(output, run, TimeSpan.FromSeconds(300));
        WriteProject("two");

        var result = await run;
        _output.WriteLine(result.Stderr);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches("^job acme completed: in=600000 out=600000 errors=0 restarts=0 deploys=1 ", result.SummaryLine);
        Assert.Equal(2, result.Stderr.Split('\n').Count(l => l.StartsWith($"jex: building {project} ", StringComparison.Ordinal)));
        Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("deploy 1: v1 (was v0) from ", StringComparison.Ordinal));
        var switchAt = -1;
        var index = 0;
        foreach (var value in File.ReadLines(output).Select(ValueOf))
        {
            var match = TaggedValue().Match(value);
            Assert.True(match.Success, $"line {index + 1}: {value}");
            var isNew = match.Groups[1].Value == "two";
            switchAt = isNew && switchAt < 0 ? index : switchAt;
            Assert.True(switchAt < 0 || isNew, $"line {index + 1}: {value} comes after the switch at line {switchAt + 1}");
            index++;
        }

        Assert.Equal(600_000, index);
        Assert.True(switchAt > 0, $"the switch is at line {switchAt + 1}");
    }

    /// <summary>
    /// Waits until results of the current version are in the output file (the sink writes it in
    /// blocks), so the change that follows comes after some of them, and as early as that: a fixed
    /// pause instead would eat into the job's remaining time, which a busy machine needs for the deploy.
    /// </summary>
    private static async Task WaitForFirstResultsAsync(string output, Task<CliResult> run, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(output) || new FileInfo(output).Length == 0)
        {
            if (run.IsCompleted)
            {
                Assert.Fail("jex run ended before it wrote a result: " + await run);
            }

            Assert.True(DateTime.UtcNow < deadline, $"jex run wrote no result to {output} within {timeout.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>A function project whose <c>tag</c> function appends <paramref name="suffix"/>; returns the .csproj.</summary>
    private string WriteProject(string suffix)
    {
        var src = Directory.CreateDirectory(Path.Combine(_root, "src", "Acme.Tag")).FullName;
        var project = Path.Combine(src, "Acme.Tag.csproj");
        File.WriteAllText(project, FunctionProject.ProjectXml());
        File.WriteAllText(Path.Combine(src, "Functions.cs"), $$"""
            using Jex.UserCode;

            namespace Acme.Tag;

            public sealed class Entry
            {
                public int Value { get; set; }
            }

            public sealed class Tagged
            {
                public string? Value { get; set; }
            }

            public static class Functions
            {
                [JexFunction("tag")]
                public static Tagged Tag(Entry entry) => new() { Value = entry.Value + "-{{suffix}}" };
            }
            """);
        return project;
    }

    /// <summary>
    /// A folder for the job's variable JEX_OUT whose runtime is the real one and whose
    /// samples/Jex.Samples is a copy of version 1 that the test may overwrite.
    /// </summary>
    private (string JexOut, string Watched) CopyUserCode()
    {
        var jexOut = Path.Combine(_root, "out");
        var watched = Path.Combine(jexOut, "samples", "Jex.Samples");
        Directory.CreateDirectory(watched);
        Directory.CreateSymbolicLink(Path.Combine(jexOut, "runtime"), Path.Combine(JexCli.Out, "runtime"));
        foreach (var file in Directory.GetFiles(JexCli.Samples))
        {
            File.Copy(file, Path.Combine(watched, Path.GetFileName(file)));
        }

        return (jexOut, watched);
    }

    private static string ValueOf(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty("value").GetProperty("value").GetString()!;
    }

    [GeneratedRegex("^key-(\\d+)$")]
    private static partial Regex KeyNumber();

    [GeneratedRegex("^\\d+-(one|two)$")]
    private static partial Regex TaggedValue();
}

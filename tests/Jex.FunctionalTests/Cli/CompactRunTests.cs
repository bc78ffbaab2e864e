using System.Text.Json;
using Jex.FunctionalTests.Member;
using Jex.Hazelcast.Compact;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// The real out/cli/jex on a <c>format: compact</c> job: JSON input encoded to Compact with the
/// job's schema file, doThingDotnet (some-thing in, other-thing out) on the bundled runtime, JSON
/// output decoded with the schema the runtime announced, and a recording that replays equal.
/// </summary>
public sealed class CompactRunTests : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);
    private static readonly Schema SomeThing = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThing = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);

    private readonly string _root = Directory.CreateTempSubdirectory("jex-compact-run-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private string Path(string name) => System.IO.Path.Combine(_root, name);

    private string WriteJob(string schemas = "schemas/demo.json")
    {
        JexCli.RequireBuilt();
        Directory.CreateDirectory(Path("schemas"));
        Directory.CreateDirectory(Path("data"));
        File.WriteAllText(Path("schemas/demo.json"), """[{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]}]""");
        File.WriteAllText(Path("data/things.jsonl"), """
            {"key": "k-20", "value": {"value": 20}}
            {"key": "k-neg", "value": {"value": -7}}
            {"key": "k-typed", "value": {"$type": "some-thing", "value": 2147483647}}
            """);
        var job = Path("compact.yml");
        File.WriteAllText(job, $"""
            job:
              name: compact-demo
              pipeline:
                - source: map-journal
                  map-name: things
                - transform: user-code
                  function: doThingDotnet
                  runtime:
                    user-code: "{JexCli.Samples}"
                  format: compact
                  schemas: {schemas}
                  parallel-operations: 2
                - sink: map
                  map-name: results
            """);
        return job;
    }

    [Fact]
    public async Task RunRecordAndReplay_OfACompactJob_WritesJsonOutputs_KeepsBothSchemasInTheHeader_AndReplaysEqual()
    {
        var job = WriteJob();
        var output = Path("out.jsonl");
        var recording = Path("rec.jsonl");

        var run = await JexCli.RunAsync(["run", job, "--output", output, "--record", recording], RunTimeout);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^job compact-demo completed: in=3 out=3 errors=0 restarts=0 ", run.SummaryLine);
        Assert.Contains("Add entry to things: k-20 = SomeThing(Value=20)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Found: k-20 = OtherThing(Value=__20__)", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(
        [
            """{"key":"k-20","value":{"$type":"other-thing","value":"__20__"}}""",
            """{"key":"k-neg","value":{"$type":"other-thing","value":"__-7__"}}""",
            """{"key":"k-typed","value":{"$type":"other-thing","value":"__2147483647__"}}""",
        ], await File.ReadAllLinesAsync(output));

        var lines = await File.ReadAllLinesAsync(recording);
        using (var header = JsonDocument.Parse(lines[0]))
        {
            var root = header.RootElement;
            Assert.Equal("compact", root.GetProperty("format").GetString());
            Assert.Equal("hazelcast", root.GetProperty("valueFormat").GetString());
            var schemas = root.GetProperty("schemas").EnumerateArray()
                .Select(s => (long.Parse(s.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture), s.GetProperty("typeName").GetString()))
                .ToList();
            Assert.Equal([(SomeThing.Id, "some-thing"), (OtherThing.Id, "other-thing")], schemas);
        }

        Assert.Equal(3, lines.Skip(1).Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("items").GetArrayLength()));

        var replay = await JexCli.RunAsync(["replay", recording], RunTimeout);

        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Matches(@"replay rec\.jsonl: all equal: items=3 batches=\d+ differ=0 function=doThingDotnet", Assert.Single(Lines(replay.Stdout)));
    }

    [Fact]
    public async Task Replay_OfACompactRecordingWithoutItsSchemas_FailsTheItems()
    {
        // Proves the replay's equality comes from the announced schemas: with them stripped, the
        // runtime cannot read a single item.
        var job = WriteJob();
        var recording = Path("rec.jsonl");
        var run = await JexCli.RunAsync(["run", job, "--record", recording], RunTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = await File.ReadAllLinesAsync(recording);
        var headerStart = lines[0][..lines[0].IndexOf("\"schemas\":", StringComparison.Ordinal)];
        lines[0] = headerStart + "\"schemas\":[]}";
        await File.WriteAllLinesAsync(recording, lines);

        var replay = await JexCli.RunAsync(["replay", recording], RunTimeout);

        Assert.True(replay.ExitCode == 1, replay.ToString());
        Assert.Contains("UNKNOWN_SCHEMA", replay.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"replay rec\.jsonl: 3 differ: items=3 ", Lines(replay.Stdout)[^1]);
    }

    [Fact]
    public async Task Run_WhenTheSchemaFileIsMissing_ExitsTwoWithOneLineNamingTheKeyAndPath()
    {
        var job = WriteJob(schemas: "schemas/nope.json");

        var result = await JexCli.RunAsync(["run", job], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(Lines(result.Stderr));
        Assert.Contains("job.pipeline[1].schemas: the schema file " + Path("schemas/nope.json") + " does not exist", line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }
}

using System.Text.Json;
using Jex.FunctionalTests.Member;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// The real out/cli/jex with a forked runtime: what jex run reports of a job (the summary's p99,
/// the --metrics file) and the spans it exports with --otlp.
/// </summary>
public sealed class RunFiguresAndTracesTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(120);

    private static string Job(string function) => $"""
        job:
          name: figures
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
              batch-max-items: 1
            - sink: map
              map-name: r
        """;

    private static async Task<string> InputAsync(TempDirectory dir, params string[] values)
    {
        var input = dir.File("in.jsonl");
        await File.WriteAllLinesAsync(input, values.Select((v, i) => JsonSerializer.Serialize(new { key = $"k{i}", value = v })));
        return input;
    }

    [Fact]
    public async Task Run_WithMetrics_WritesTheFunctionsOutcomesErrorCodesBatchesAndPercentiles_AndTheSummaryEndsWithP99()
    {
        using var dir = new TempDirectory("jex-figures");
        var job = dir.File("throw.yml");
        await File.WriteAllTextAsync(job, Job("throwOnDemand"));
        var input = await InputAsync(dir, "a", "throw-1", "b", "c", "throw-2", "d");
        var metrics = dir.File("metrics.json");

        var result = await JexCli.RunAsync(["run", job, "--input", input, "--metrics", metrics, "--allow-errors"], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^job figures completed: in=6 out=4 errors=2 restarts=0 transport=grpc service=process elapsed=\d+\.\d\ds p99_ms=\d+\.\d\d$", result.SummaryLine);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(metrics));
        var fn = doc.RootElement.GetProperty("functions").GetProperty("throwOnDemand");
        var items = fn.GetProperty("items");
        Assert.Equal((6, 4, 0, 2), (items.GetProperty("in").GetInt32(), items.GetProperty("ok").GetInt32(), items.GetProperty("filtered").GetInt32(), items.GetProperty("error").GetInt32()));
        Assert.Equal("""{"USER_EXCEPTION":2}""", JsonSerializer.Serialize(fn.GetProperty("error_codes")));
        Assert.Equal(6, fn.GetProperty("batches").GetInt32());
        var ms = fn.GetProperty("batch_ms");
        var (p50, p95, p99) = (ms.GetProperty("p50").GetDouble(), ms.GetProperty("p95").GetDouble(), ms.GetProperty("p99").GetDouble());
        Assert.True(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= ms.GetProperty("max").GetDouble(), ms.ToString());
        Assert.True(fn.GetProperty("events_per_s").GetDouble() > 0, fn.ToString());
        Assert.Equal(0, doc.RootElement.GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task Run_WithMetrics_CountsItemsTheFunctionFilteredOut()
    {
        using var dir = new TempDirectory("jex-figures");
        var job = dir.File("filter.yml");
        await File.WriteAllTextAsync(job, Job("filterEven"));
        var input = await InputAsync(dir, "1", "2", "3", "4", "6");
        var metrics = dir.File("metrics.json");

        var result = await JexCli.RunAsync(["run", job, "--input", input, "--metrics", metrics], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(metrics));
        var items = doc.RootElement.GetProperty("functions").GetProperty("filterEven").GetProperty("items");
        Assert.Equal((3, 2, 0), (items.GetProperty("ok").GetInt32(), items.GetProperty("filtered").GetInt32(), items.GetProperty("error").GetInt32()));
    }

    [Fact]
    public async Task Run_WhenTheMetricsFolderDoesNotExist_ExitsTwoBeforeStartingAnything()
    {
        using var dir = new TempDirectory("jex-figures");
        var metrics = dir.File("missing/metrics.json");

        var result = await JexCli.RunAsync(["run", JexCli.Job("dotnet-process-grpc.yml"), "--metrics", metrics], JobTimeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"jex run: --metrics {metrics}: the folder {dir.File("missing")} does not exist; create it or name another file", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Starting runtime", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WithOtlp_ExportsOneMemberSpanPerBatch_AndTheRuntimesBatchSpansAreItsChildren()
    {
        using var dir = new TempDirectory("jex-otlp");
        using var collector = new OtlpReceiver();
        var job = dir.File("traced.yml");
        await File.WriteAllTextAsync(job, Job("logAndEcho"));
        var input = await InputAsync(dir, "one", "two", "three");

        var result = await JexCli.RunAsync(["run", job, "--input", input, "--otlp", collector.Endpoint, "--otlp-protocol", "http/protobuf", "-v"], JobTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        var member = collector.Spans.Where(s => s.Scope == "Jex.Member").ToList();
        Assert.Equal(3, member.Count);
        Assert.All(member, s =>
        {
            Assert.Equal("jex", s.Service);
            Assert.Equal("jex.member.batch", s.Name);
            Assert.Equal("", s.ParentSpanId);
            Assert.Equal("logAndEcho", s.Attributes["jex.function"]);
            Assert.Equal("1", s.Attributes["jex.batch.items"]);
        });
        Assert.Equal(3, member.Select(s => s.TraceId).Distinct().Count());
        // The forked runtime was told the same collector: its batch spans are the member's children.
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (collector.Spans.Count(s => s.Scope == "Jex.Runtime") < 3 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        var runtime = collector.Spans.Where(s => s.Scope == "Jex.Runtime" && s.Name == "jex.runtime.batch").ToList();
        Assert.True(runtime.Count == 3, $"the collector got {string.Join(", ", collector.Spans.Select(s => $"{s.Scope}/{s.Name}"))} on {string.Join(", ", collector.Paths)}\n{result}");
        Assert.Equal(
            member.Select(s => (s.TraceId, s.SpanId)).Order(),
            runtime.Select(s => (s.TraceId, s.ParentSpanId)).Order());
        Assert.Contains("/v1/metrics", collector.Paths);
    }
}

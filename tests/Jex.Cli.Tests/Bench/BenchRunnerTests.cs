using Jex.Cli.Bench;
using Jex.Testing.Shared;

namespace Jex.Cli.Tests.Bench;

/// <summary>
/// The bench on its direct path: the runtime's real session processor and the published samples,
/// in this process. A cell reports an error when a result is missing, failed, has other than one
/// output, or (Compact) its first output does not decode to the record sent.
/// </summary>
public sealed class BenchRunnerTests
{
    private static BenchSettings Settings(IReadOnlyList<string> formats, IReadOnlyList<int> payloads, string function = "identity") => new()
    {
        Runtime = "unused-by-the-direct-path",
        Samples = TestPaths.Samples,
        Paths = ["direct"],
        Formats = formats,
        Payloads = payloads,
        Batches = [16],
        InFlight = [2],
        Functions = [function],
        WarmUp = TimeSpan.FromMilliseconds(100),
        Measure = TimeSpan.FromMilliseconds(100),
        Repeats = 1,
        FixedRate = TimeSpan.FromMilliseconds(100),
        Starts = 0,
        OrderingCells = false,
    };

    private static Task<BenchReport> RunAsync(BenchSettings settings) =>
        new BenchRunner(settings, TextWriter.Null).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(90));

    [Fact]
    public async Task RunAsync_RawAndCompactOnTheDirectPath_MeasuresEveryCellWithoutError()
    {
        var report = await RunAsync(Settings(["raw", "compact"], [64, 16 * 1024]));

        Assert.Equal(
            [("raw", 64), ("raw", 16 * 1024), ("compact", 64), ("compact", 16 * 1024)],
            report.Results.Select(r => (r.Cell.Format, r.Cell.Payload)));
        Assert.All(report.Results, r =>
        {
            Assert.Null(r.Error);
            Assert.True(r.EventsPerSecond > 0, $"{r.Cell}: {r.EventsPerSecond} events/s");
            Assert.True(r.Latency.Count > 0, $"{r.Cell}: no fixed-rate round trip");
        });
        Assert.Equal(["compactEcho", "compactEcho"], report.Results.Where(r => r.Cell.Format == "compact").Select(r => r.Cell.UserFunction));
        Assert.Empty(report.Unavailable);
    }

    [Fact]
    public async Task RunAsync_OrderingCellsOnTheDirectPath_RunAsync5msManyTimesFasterByKey()
    {
        var settings = Settings(["raw"], [64]) with { Functions = [], OrderingCells = true };

        var report = await RunAsync(settings);

        Assert.Equal(
            [("identity", Cell.KeyOrder, 4), (BenchSettings.Async5Ms, Cell.BatchOrder, 1), (BenchSettings.Async5Ms, Cell.KeyOrder, 1)],
            report.Results.Select(r => (r.Cell.Function, r.Cell.Ordering, r.Cell.InFlight)));
        Assert.All(report.Results, r => Assert.Null(r.Error));
        var byBatch = report.Results.Single(r => r.Cell.Function == BenchSettings.Async5Ms && !r.Cell.KeyOrdered).EventsPerSecond;
        var byKey = report.Results.Single(r => r.Cell.Function == BenchSettings.Async5Ms && r.Cell.KeyOrdered).EventsPerSecond;
        // 5 ms per item: about 200 items/s one after another; 64 at once is up to 64 times that.
        Assert.InRange(byBatch, 50, 250);
        Assert.True(byKey > 10 * byBatch, $"key order {byKey:F0} events/s, batch order {byBatch:F0}");
        var goal = Report.Goals(report).Single(g => g.Name.StartsWith("async5ms", StringComparison.Ordinal));
        Assert.Equal(byKey / byBatch, goal.Measured!.Value, 6);
    }

    [Fact]
    public async Task RunAsync_CompactCellForAFunctionThatTakesBytes_ReportsTheItemErrorForThatCell()
    {
        // byteCount takes byte[]; a Compact value is not a Hazelcast byte[], so every item fails.
        var report = await RunAsync(Settings(["compact"], [64], "byteCount"));

        var cell = Assert.Single(report.Results);
        Assert.NotNull(cell.Error);
        Assert.Contains("item failed", cell.Error, StringComparison.Ordinal);
    }
}

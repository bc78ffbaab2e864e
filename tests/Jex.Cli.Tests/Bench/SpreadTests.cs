using System.Runtime.Versioning;
using System.Text.Json;
using Jex.Cli.Bench;

namespace Jex.Cli.Tests.Bench;

/// <summary>
/// How a cell's repeats become its figures: the interquartile spread, the warm-up that runs on
/// while throughput climbs, and the per-repeat numbers the JSON keeps and reads back.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SpreadTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-spread-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static BenchSettings Settings => new()
    {
        Runtime = "r",
        Samples = "s",
        WarmUp = TimeSpan.FromMilliseconds(500),
        WarmUpLimit = TimeSpan.FromMilliseconds(4000),
        WarmUpRuntimeCpu = TimeSpan.FromMilliseconds(1500),
        Measure = TimeSpan.FromMilliseconds(600),
        Repeats = 5,
        FixedRate = TimeSpan.FromMilliseconds(300),
    };

    /// <summary>A workload that answers each run with the next rate of a script and records what it was asked.</summary>
    private sealed class ScriptedWorkload(params double[] rates) : ICellWorkload
    {
        private int _next;

        /// <summary>The runtime's CPU so far, per call; past the end, the last. Warm by default.</summary>
        public double[] CpuMicroseconds { get; init; } = [10e6];

        private int _cpuCalls;

        /// <summary>This process's CPU per run; enough by default for the path to be warm at once.</summary>
        public double MemberCpuPerRun { get; init; } = 10e6;

        public double? RuntimeCpuMicroseconds() => CpuMicroseconds[Math.Min(_cpuCalls++, CpuMicroseconds.Length - 1)];

        public List<(TimeSpan Duration, double? Rate)> Runs { get; } = [];

        public bool MeasuresAllocation => false;

        public Task<RunSample> RunAsync(TimeSpan duration, double? batchesPerSecond, CancellationToken cancellationToken)
        {
            Runs.Add((duration, batchesPerSecond));
            var rate = rates[Math.Min(_next++, rates.Length - 1)];
            return Task.FromResult(new RunSample((long)rate, (long)rate / 16, 1.0, [100, 200], 0, 10, MemberCpuPerRun) { OtherCores = 0.25 * _next });
        }
    }

    private static readonly Cell Cell16 = new("shm", 64, 16, 4, "identity", "raw");

    [Theory]
    [InlineData(new[] { 100.0, 90, 110, 50, 105 }, 15)]
    [InlineData(new[] { 90.0, 100, 110 }, 10)]
    [InlineData(new[] { 200.0, 200, 200, 200, 200 }, 0)]
    public void InterquartilePercent_IsTheQuartilesDistanceOverTheMedian(double[] values, double expected) =>
        Assert.Equal(expected, Spread.InterquartilePercent(values), precision: 9);

    [Fact]
    public void InterquartilePercent_OfFewerThanThreeRepeats_IsNotANumber() =>
        Assert.True(double.IsNaN(Spread.InterquartilePercent([1.0, 2.0])));

    [Fact]
    public void SpreadIqrPercent_IgnoresOneOutlyingRepeat_WhereMinToMaxDoesNot()
    {
        var result = new CellResult(Cell16)
        {
            EventsPerSecond = 100,
            EventsPerSecondMin = 40,
            EventsPerSecondMax = 104,
            RepeatEventsPerSecond = [100, 98, 40, 102, 104],
        };

        Assert.Equal(64, result.SpreadPercent, precision: 9);
        Assert.Equal(4, result.SpreadIqrPercent, precision: 9);
    }

    [Fact]
    public async Task MeasureAsync_WhileThroughputClimbs_RunsMoreWarmUpSlicesThenTheRepeatsInOrder()
    {
        // Warm-up 100, then 150 (+50%), 200 (+33%), 205 (+2.5%: done); repeats follow.
        var workload = new ScriptedWorkload(100, 150, 200, 205, 210, 190, 220, 205, 200, 209);

        var result = await new BenchRunner(Settings, TextWriter.Null).MeasureAsync(workload, Cell16, forked: true, CancellationToken.None);

        Assert.Equal(1250, result.WarmUpMilliseconds);
        Assert.Equal(
            [500, 250, 250, 250, 600, 600, 600, 600, 600, 300],
            workload.Runs.Select(r => r.Duration.TotalMilliseconds));
        Assert.All(workload.Runs.SkipLast(1), r => Assert.Null(r.Rate));
        Assert.Equal([210, 190, 220, 205, 200], result.RepeatEventsPerSecond);
        Assert.Equal([1.25, 1.5, 1.75, 2.0, 2.25], result.RepeatOtherCores);
        Assert.Equal(205, result.EventsPerSecond);
        // The fixed-rate run goes at half the median, in batches per second.
        Assert.Equal(205 / 16.0 * 0.5, workload.Runs[^1].Rate);
        Assert.True(double.IsNaN(result.AllocatedBytesPerEvent));
    }

    [Fact]
    public async Task MeasureAsync_WhenThroughputKeepsClimbing_StopsTheWarmUpAtItsLimit()
    {
        var workload = new ScriptedWorkload([.. Enumerable.Range(1, 30).Select(i => i * 1000.0)]);

        var result = await new BenchRunner(Settings, TextWriter.Null).MeasureAsync(workload, Cell16, forked: true, CancellationToken.None);

        Assert.Equal(4000, result.WarmUpMilliseconds);
        Assert.Equal(15 + 5 + 1, workload.Runs.Count);
    }

    [Fact]
    public async Task MeasureAsync_WhileTheRuntimeHasUsedTooLittleCpu_WarmsUpOnEvenWhenThroughputIsFlat()
    {
        // 0.4 s, 0.9 s, then 1.6 s of CPU: the third slice passes the 1.5 s mark.
        var workload = new ScriptedWorkload(100, 100, 100, 100, 100, 100, 100, 100, 100, 100) { CpuMicroseconds = [0.4e6, 0.9e6, 1.6e6] };

        var result = await new BenchRunner(Settings, TextWriter.Null).MeasureAsync(workload, Cell16, forked: true, CancellationToken.None);

        Assert.Equal(500 + (3 * 250), result.WarmUpMilliseconds);
        Assert.Equal(4 + 5 + 1, workload.Runs.Count);
    }

    [Fact]
    public async Task MeasureAsync_OnAPathWhoseMemberSideHasUsedTooLittleCpu_WarmsUpOnlyItsFirstCellLonger()
    {
        // 0.3 s of member CPU per run: the path passes 1.5 s in the fifth warm-up run of its first cell.
        var runner = new BenchRunner(Settings, TextWriter.Null);
        var first = new ScriptedWorkload(100) { MemberCpuPerRun = 0.3e6 };
        var second = new ScriptedWorkload(100) { MemberCpuPerRun = 0.3e6 };

        var a = await runner.MeasureAsync(first, Cell16, forked: true, CancellationToken.None);
        var b = await runner.MeasureAsync(second, Cell16 with { Batch = 256 }, forked: true, CancellationToken.None);

        Assert.Equal(500 + (4 * 250), a.WarmUpMilliseconds);
        Assert.Equal(500 + 250, b.WarmUpMilliseconds);
    }

    [Fact]
    public async Task MeasureAsync_ForAsync5ms_RunsTheFixedWarmUpOnly()
    {
        var workload = new ScriptedWorkload(100, 1000, 1000, 1000, 1000, 1000, 1000);
        var cell = new Cell("shm", 64, 256, 1, BenchSettings.Async5Ms, "raw", Cell.KeyOrder);

        var result = await new BenchRunner(Settings, TextWriter.Null).MeasureAsync(workload, cell, forked: true, CancellationToken.None);

        Assert.Equal(500, result.WarmUpMilliseconds);
        Assert.Equal(1 + 5 + 1, workload.Runs.Count);
    }

    [Fact]
    public void WriteJsonThenRead_KeepsTheRepeatsTheOtherCoresTheWarmUpAndTheOrdering()
    {
        var cell = new Cell("shm", 64, 256, 4, "identity", "raw", Cell.KeyOrder);
        var written = new CellResult(cell)
        {
            EventsPerSecond = 2_000_000,
            EventsPerSecondMin = 1_000_000,
            EventsPerSecondMax = 2_200_000,
            RepeatEventsPerSecond = [2_000_000, 1_000_000, 2_100_000, 2_200_000, 1_900_000],
            RepeatOtherCores = [0.5, 1.75, 0.25, 0, 0.5],
            WarmUpMilliseconds = 750,
        };
        var path = Path.Combine(_root, "bench.json");

        Report.WriteJson(new BenchReport(new Dictionary<string, string>(), [], [written], new Dictionary<string, string>(), TimeSpan.FromSeconds(3)), Settings, path);
        var read = Assert.Single(ReportReader.Read(path).Results);

        Assert.Equal(cell, read.Cell);
        Assert.Equal(written.RepeatEventsPerSecond, read.RepeatEventsPerSecond);
        Assert.Equal(written.RepeatOtherCores, read.RepeatOtherCores);
        Assert.Equal(750, read.WarmUpMilliseconds);
        Assert.Equal(10, read.SpreadIqrPercent, precision: 9);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(10, doc.RootElement.GetProperty("results")[0].GetProperty("spread_iqr_pct").GetDouble());
        Assert.Equal("spread_iqr_pct", doc.RootElement.GetProperty("method").GetProperty("spread_target_uses").GetString());
    }

    [Fact]
    public void Read_AReportFromBeforeTheRepeatsWereKept_GivesNoRepeatsAndNoIqr()
    {
        var path = Path.Combine(_root, "old.json");
        File.WriteAllText(path, """
            {"machine": {"cores": "2"}, "startup": {}, "results": [
              {"transport": "shm", "payload": 64, "batch": 16, "inflight": 4, "function": "identity", "format": "raw",
               "events_per_s": 850000, "events_per_s_min": 600000, "events_per_s_max": 1150000, "spread_pct": 64}],
             "unavailable": {}}
            """);

        var read = Assert.Single(ReportReader.Read(path).Results);

        Assert.Equal(new Cell("shm", 64, 16, 4, "identity", "raw"), read.Cell);
        Assert.Empty(read.RepeatEventsPerSecond);
        Assert.True(double.IsNaN(read.SpreadIqrPercent));
        Assert.Equal(64.7, read.SpreadPercent, precision: 1);
    }

    [Fact]
    public void Goals_JudgeTheShmSpreadByItsWorstIqr()
    {
        CellResult Ok(int batch, double[] repeats) => new(new Cell("shm", 64, batch, 4, "identity", "raw"))
        {
            EventsPerSecond = repeats.Order().ElementAt(2),
            RepeatEventsPerSecond = repeats,
        };
        var report = new BenchReport(
            new Dictionary<string, string>(), [],
            [Ok(256, [100, 101, 99, 100, 60]), Ok(16, [100, 90, 110, 80, 120])],
            new Dictionary<string, string>(), TimeSpan.FromSeconds(1));

        var goal = Assert.Single(Report.Goals(report), g => g.Name == "shm cells, spread as IQR / median (%)");

        Assert.Equal(20, goal.Measured!.Value, precision: 9);
        Assert.StartsWith("missed", goal.Status, StringComparison.Ordinal);
        Assert.Contains("16x4", goal.Status, StringComparison.Ordinal);
    }
}

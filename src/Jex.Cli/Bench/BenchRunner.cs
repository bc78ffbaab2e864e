using System.Diagnostics;
using System.Runtime.Versioning;

namespace Jex.Cli.Bench;

/// <summary>The measured numbers of one cell (medians over the repeats, spread as min and max).</summary>
internal sealed record CellResult(Cell Cell)
{
    public double EventsPerSecond { get; init; }

    public double EventsPerSecondMin { get; init; }

    public double EventsPerSecondMax { get; init; }

    public double MegabytesPerSecond => EventsPerSecond * Cell.Payload / 1e6;

    public double SpreadPercent => EventsPerSecond > 0 ? (EventsPerSecondMax - EventsPerSecondMin) / EventsPerSecond * 100 : 0;

    /// <summary>Open-loop (fixed-rate) round trip, coordinated omission corrected.</summary>
    public Percentiles Latency { get; init; } = Percentiles.Empty;

    public double FixedRateBatchesPerSecond { get; init; }

    /// <summary>Closed-loop round trip (service time under full load).</summary>
    public Percentiles ClosedLatency { get; init; } = Percentiles.Empty;

    public double AllocatedBytesPerEvent { get; init; }

    public double RuntimeCpuUsPerEvent { get; init; }

    public double MemberCpuUsPerEvent { get; init; }

    public double CpuUsPerEvent => RuntimeCpuUsPerEvent + MemberCpuUsPerEvent;

    public string? Error { get; init; }
}

internal sealed record Percentiles(double P50, double P99, double Max, int Count)
{
    public static readonly Percentiles Empty = new(double.NaN, double.NaN, double.NaN, 0);

    public static Percentiles FromTicks(IEnumerable<long> ticks)
    {
        var sorted = ticks.ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        Array.Sort(sorted);
        double Us(long t) => t * 1e6 / Stopwatch.Frequency;
        double At(double q) => Us(sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(q * sorted.Length) - 1)]);
        return new Percentiles(At(0.50), At(0.99), Us(sorted[^1]), sorted.Length);
    }
}

internal sealed record StartupResult(string Path, IReadOnlyList<double> Milliseconds, IReadOnlyList<double> CpuMilliseconds)
{
    public double CpuMedian => CpuMilliseconds.Count == 0 ? double.NaN : CpuMilliseconds.Order().ElementAt(CpuMilliseconds.Count / 2);

    public double Median => Milliseconds.Count == 0 ? double.NaN : Milliseconds.Order().ElementAt(Milliseconds.Count / 2);
}

internal sealed record BenchReport(
    IReadOnlyDictionary<string, string> Machine,
    IReadOnlyList<StartupResult> Startup,
    IReadOnlyList<CellResult> Results,
    IReadOnlyDictionary<string, string> Unavailable,
    TimeSpan Elapsed);

/// <summary>Runs the matrix: one runtime per path, one session per cell, every path in one run.</summary>
[SupportedOSPlatform("linux")]
internal sealed class BenchRunner(BenchSettings settings, TextWriter progress)
{
    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var machine = Machine.Describe();
        var results = new List<CellResult>();
        var startup = new List<StartupResult>();
        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in settings.RunPaths)
        {
            await using var path = BenchPath.Create(name, settings);
            try
            {
                startup.Add(await MeasureStartupAsync(path, cancellationToken).ConfigureAwait(false));
                if (settings.StartupOnly)
                {
                    continue;
                }

                await path.StartAsync(cancellationToken).ConfigureAwait(false);
                foreach (var cell in settings.Cells(name).Concat(settings.OrderingCellsFor(name)))
                {
                    var result = await RunCellAsync(path, cell, cancellationToken).ConfigureAwait(false);
                    results.Add(result);
                    progress.WriteLine(Report.ProgressLine(result));
                }
            }
            catch (PathUnavailableException e)
            {
                unavailable[name] = e.Message;
                progress.WriteLine($"{name}: unavailable: {e.Message}");
            }
        }

        return new BenchReport(machine, startup, results, unavailable, watch.Elapsed);
    }

    private async Task<StartupResult> MeasureStartupAsync(BenchPath path, CancellationToken cancellationToken)
    {
        var times = new List<double>();
        var cpu = new List<double>();
        for (var i = 0; i < settings.Starts; i++)
        {
            if (await path.MeasureStartAsync(cancellationToken).ConfigureAwait(false) is not { } ms)
            {
                break;
            }

            times.Add(ms.Wall);
            cpu.Add(ms.Cpu);
        }

        var result = new StartupResult(path.Name, times, cpu);
        if (times.Count > 0)
        {
            progress.WriteLine($"{path.Name}: fork-to-ready over {times.Count} starts: p50 {result.Median:F0} ms (min {times.Min():F0}, max {times.Max():F0}), CPU to ready p50 {result.CpuMedian:F0} ms");
        }

        return result;
    }

    /// <summary>A cell that fails is run once more (a busy machine can fail a connection); a second failure is reported.</summary>
    private async Task<CellResult> RunCellAsync(BenchPath path, Cell cell, CancellationToken cancellationToken)
    {
        var first = await RunCellOnceAsync(path, cell, cancellationToken).ConfigureAwait(false);
        if (first.Error is null)
        {
            return first;
        }

        progress.WriteLine($"{cell}: failed ({first.Error}); running it again");
        var second = await RunCellOnceAsync(path, cell, cancellationToken).ConfigureAwait(false);
        return second.Error is null ? second : second with { Error = $"{second.Error} (first attempt: {first.Error})" };
    }

    private async Task<CellResult> RunCellOnceAsync(BenchPath path, Cell cell, CancellationToken cancellationToken)
    {
        try
        {
            await using var channel = await path.OpenAsync(cancellationToken).ConfigureAwait(false);
            var workload = new Workload(channel, cell, path.RuntimePid);
            await workload.OpenAsync(path.Token, cancellationToken).ConfigureAwait(false);
            await workload.RunAsync(settings.WarmUp, null, cancellationToken).ConfigureAwait(false);
            var samples = new List<RunSample>();
            for (var r = 0; r < settings.Repeats; r++)
            {
                samples.Add(await workload.RunAsync(settings.Measure, null, cancellationToken).ConfigureAwait(false));
            }

            var rates = samples.Select(s => s.EventsPerSecond).Order().ToArray();
            var median = rates[rates.Length / 2];
            var batchRate = median / cell.Batch;
            var fixedRate = batchRate * settings.FixedRateLoad;
            var open = await workload.RunAsync(settings.FixedRate, fixedRate, cancellationToken).ConfigureAwait(false);
            await workload.CloseAsync(cancellationToken).ConfigureAwait(false);

            var events = samples.Sum(s => (double)s.Events);
            return new CellResult(cell)
            {
                EventsPerSecond = median,
                EventsPerSecondMin = rates[0],
                EventsPerSecondMax = rates[^1],
                Latency = Percentiles.FromTicks(open.LatencyTicks),
                FixedRateBatchesPerSecond = fixedRate,
                ClosedLatency = Percentiles.FromTicks(samples.SelectMany(s => s.LatencyTicks)),
                AllocatedBytesPerEvent = samples.Select(s => s.RuntimeAllocated / (double)s.Events).Order().ElementAt(samples.Count / 2),
                // For direct, runtime and member are one process: all of its CPU counts as the runtime's.
                RuntimeCpuUsPerEvent = samples.Sum(s => s.RuntimeCpuUs) / events,
                MemberCpuUsPerEvent = path.IsForked ? samples.Sum(s => s.MemberCpuUs) / events : 0,
            };
        }
        catch (PathUnavailableException)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new CellResult(cell) { Error = e.GetType().Name + ": " + e.Message };
        }
    }
}

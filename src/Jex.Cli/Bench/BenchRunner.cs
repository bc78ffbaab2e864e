using System.Diagnostics;
using System.Runtime.Versioning;
using Jex.Cli.Bench.Peer;

namespace Jex.Cli.Bench;

/// <summary>
/// The measured numbers of one cell: medians over the repeats, with the spread both as the whole
/// range (min to max, which one disturbed repeat sets) and as the interquartile range (which it
/// does not), each as a share of the median.
/// </summary>
internal sealed record CellResult(Cell Cell)
{
    public double EventsPerSecond { get; init; }

    public double EventsPerSecondMin { get; init; }

    public double EventsPerSecondMax { get; init; }

    /// <summary>Each measured repeat's events/s, in the order they ran; empty in reports written before they were kept.</summary>
    public IReadOnlyList<double> RepeatEventsPerSecond { get; init; } = [];

    /// <summary>
    /// Per repeat, the cores the rest of the machine kept busy meanwhile (all CPU time on the
    /// machine less the runtime's and this process's, over the repeat's wall time): a slow repeat
    /// beside a high figure here was slowed from outside the benchmark.
    /// </summary>
    public IReadOnlyList<double> RepeatOtherCores { get; init; } = [];

    /// <summary>The warm-up the cell ran before its repeats (it runs on while throughput still climbs).</summary>
    public double WarmUpMilliseconds { get; init; } = double.NaN;

    public double MegabytesPerSecond => EventsPerSecond * Cell.Payload / 1e6;

    /// <summary>(max - min) / median, in percent.</summary>
    public double SpreadPercent => EventsPerSecond > 0 ? (EventsPerSecondMax - EventsPerSecondMin) / EventsPerSecond * 100 : 0;

    /// <summary>
    /// (third quartile - first quartile) / median, in percent, from <see cref="RepeatEventsPerSecond"/>;
    /// NaN without them. This is the figure the spread target judges: with 5 repeats it ignores
    /// the fastest and the slowest, so one repeat that a burst of load elsewhere hit does not set it.
    /// </summary>
    public double SpreadIqrPercent => Spread.InterquartilePercent(RepeatEventsPerSecond);

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

/// <summary>Robust spread figures over a handful of repeats.</summary>
internal static class Spread
{
    /// <summary>Quantile <paramref name="q"/> of sorted values, interpolated between neighbours (R's type 7, as numpy's default).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var at = q * (sorted.Count - 1);
        var low = (int)Math.Floor(at);
        var high = Math.Min(sorted.Count - 1, low + 1);
        return sorted[low] + ((at - low) * (sorted[high] - sorted[low]));
    }

    /// <summary>The interquartile range as a percentage of the median; NaN for fewer than 3 values or a zero median.</summary>
    public static double InterquartilePercent(IReadOnlyList<double> values)
    {
        if (values.Count < 3)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var median = Quantile(sorted, 0.5);
        return median > 0 ? (Quantile(sorted, 0.75) - Quantile(sorted, 0.25)) / median * 100 : double.NaN;
    }
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
    /// <summary>This process's CPU microseconds spent in runs of each path so far: its side of the path is warm past the mark too.</summary>
    private readonly Dictionary<string, double> _memberCpuByPath = new(StringComparer.Ordinal);

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var machine = Machine.Describe();
        var results = new List<CellResult>();
        var startup = new List<StartupResult>();
        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in settings.RunPaths)
        {
            if (name == BenchSettings.JetPyPath)
            {
                await RunPeerAsync(results, startup, unavailable, cancellationToken).ConfigureAwait(false);
                continue;
            }

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

    /// <summary>
    /// The Jet Python peer (<see cref="BenchSettings.JetPy"/>): fork-to-ready over fresh peers,
    /// then one peer serves every cell, one stream per cell, as a Jex gRPC runtime does.
    /// </summary>
    private async Task RunPeerAsync(List<CellResult> results, List<StartupResult> startup, Dictionary<string, string> unavailable, CancellationToken cancellationToken)
    {
        var name = BenchSettings.JetPyPath;
        var folder = settings.JetPy!;
        try
        {
            var times = new List<double>();
            var cpu = new List<double>();
            for (var i = 0; i < settings.Starts; i++)
            {
                await using var fresh = await JetPyPeer.StartAsync(folder, cancellationToken).ConfigureAwait(false);
                times.Add(fresh.ForkToReadyMs);
                cpu.Add(fresh.CpuToReadyMs);
            }

            var started = new StartupResult(name, times, cpu);
            startup.Add(started);
            if (times.Count > 0)
            {
                progress.WriteLine($"{name}: fork-to-ready over {times.Count} starts: p50 {started.Median:F0} ms (min {times.Min():F0}, max {times.Max():F0}), CPU to ready p50 {started.CpuMedian:F0} ms");
            }

            if (settings.StartupOnly)
            {
                return;
            }

            await using var peer = await JetPyPeer.StartAsync(folder, cancellationToken).ConfigureAwait(false);
            using var channel = Jex.Member.Transports.Grpc.GrpcSessionConnector.CreateChannel(peer.Address);
            var client = new JetToPython.JetToPythonClient(channel);
            foreach (var cell in settings.PeerCells())
            {
                var result = await RunPeerCellAsync(client, peer, cell, cancellationToken).ConfigureAwait(false);
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

    private async Task<CellResult> RunPeerCellAsync(JetToPython.JetToPythonClient client, JetPyPeer peer, Cell cell, CancellationToken cancellationToken)
    {
        try
        {
            await using var workload = new JetPyWorkload(client, cell, peer.Pid);
            var result = await MeasureAsync(workload, cell, forked: true, cancellationToken).ConfigureAwait(false);
            await workload.CloseAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new CellResult(cell) { Error = $"{e.GetType().Name}: {e.Message}" + (peer.RecentOutput is { Length: > 0 } o ? $" (the peer's output: {o.ReplaceLineEndings(" | ")})" : "") };
        }
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
            var result = await MeasureAsync(workload, cell, path.IsForked, cancellationToken).ConfigureAwait(false);
            await workload.CloseAsync(cancellationToken).ConfigureAwait(false);
            return result;
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

    /// <summary>
    /// Warm-up, the measured repeats (closed loop), then the fixed-rate run at a share of their
    /// median. Before each repeat this process collects its garbage, so a collection of what the
    /// previous run left does not land inside one repeat and not in the others.
    /// </summary>
    internal async Task<CellResult> MeasureAsync(ICellWorkload workload, Cell cell, bool forked, CancellationToken cancellationToken)
    {
        var warmedUp = await WarmUpAsync(workload, cell, cancellationToken).ConfigureAwait(false);
        var samples = new List<RunSample>();
        for (var r = 0; r < settings.Repeats; r++)
        {
            CollectMemberGarbage();
            samples.Add(Count(cell, await workload.RunAsync(settings.Measure, null, cancellationToken).ConfigureAwait(false)));
        }

        var rates = samples.Select(s => s.EventsPerSecond).Order().ToArray();
        var median = rates[rates.Length / 2];
        var batchRate = median / cell.Batch;
        var fixedRate = batchRate * settings.FixedRateLoad;
        CollectMemberGarbage();
        var open = await workload.RunAsync(settings.FixedRate, fixedRate, cancellationToken).ConfigureAwait(false);

        var events = samples.Sum(s => (double)s.Events);
        return new CellResult(cell)
        {
            EventsPerSecond = median,
            EventsPerSecondMin = rates[0],
            EventsPerSecondMax = rates[^1],
            RepeatEventsPerSecond = [.. samples.Select(s => s.EventsPerSecond)],
            RepeatOtherCores = [.. samples.Select(s => s.OtherCores)],
            WarmUpMilliseconds = warmedUp.TotalMilliseconds,
            Latency = Percentiles.FromTicks(open.LatencyTicks),
            FixedRateBatchesPerSecond = fixedRate,
            ClosedLatency = Percentiles.FromTicks(samples.SelectMany(s => s.LatencyTicks)),
            AllocatedBytesPerEvent = workload.MeasuresAllocation
                ? samples.Select(s => s.RuntimeAllocated / (double)s.Events).Order().ElementAt(samples.Count / 2)
                : double.NaN,
            // For direct, runtime and member are one process: all of its CPU counts as the runtime's.
            RuntimeCpuUsPerEvent = samples.Sum(s => s.RuntimeCpuUs) / events,
            MemberCpuUsPerEvent = forked ? samples.Sum(s => s.MemberCpuUs) / events : 0,
        };
    }

    /// <summary>
    /// Runs <see cref="BenchSettings.WarmUp"/>, then slices of half that while the runtime has
    /// used less than <see cref="BenchSettings.WarmUpRuntimeCpu"/> in all, or this process less
    /// than that in runs of the cell's path (the member's side of a path, e.g. the gRPC client,
    /// tiers up too: the first gRPC cell after the shm ones climbed for seconds), or while each slice is
    /// more than <see cref="BenchSettings.WarmUpGain"/> faster than the one before; up to
    /// <see cref="BenchSettings.WarmUpLimit"/>. Without it, a runtime forked for the cell (every
    /// shm cell) still climbs through the first repeats on a busy machine. Returns how long the
    /// warm-up ran.
    /// </summary>
    private async Task<TimeSpan> WarmUpAsync(ICellWorkload workload, Cell cell, CancellationToken cancellationToken)
    {
        var last = Count(cell, await workload.RunAsync(settings.WarmUp, null, cancellationToken).ConfigureAwait(false));
        var total = settings.WarmUp;

        // async5ms waits on timers, not on compiled code; a batch-order run of it lasts a whole batch.
        if (cell.Function == BenchSettings.Async5Ms)
        {
            return total;
        }

        var slice = settings.WarmUp / 2;
        while (total + slice <= settings.WarmUpLimit)
        {
            var next = Count(cell, await workload.RunAsync(slice, null, cancellationToken).ConfigureAwait(false));
            total += slice;
            var mark = settings.WarmUpRuntimeCpu.TotalMicroseconds;
            var cpuShort = (workload.RuntimeCpuMicroseconds() is { } cpu && cpu < mark) || _memberCpuByPath[cell.Path] < mark;
            if (!cpuShort && next.EventsPerSecond <= last.EventsPerSecond * (1 + settings.WarmUpGain))
            {
                break;
            }

            last = next;
        }

        return total;
    }

    /// <summary>Adds a run's member CPU to its path's total, and returns the run.</summary>
    private RunSample Count(Cell cell, RunSample sample)
    {
        _memberCpuByPath[cell.Path] = _memberCpuByPath.GetValueOrDefault(cell.Path) + sample.MemberCpuUs;
        return sample;
    }

    private static void CollectMemberGarbage()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
    }
}

/// <summary>A session the runner measures: one timed run at a time, closed loop or at a fixed rate.</summary>
internal interface ICellWorkload
{
    /// <summary>Whether runs report the runtime's allocated bytes (the Jex runtime does; a peer does not).</summary>
    bool MeasuresAllocation { get; }

    /// <summary>The CPU time the runtime (or peer) process has used since it started, or null when unknown.</summary>
    double? RuntimeCpuMicroseconds();

    /// <summary>One run: closed loop with <paramref name="batchesPerSecond"/> null, otherwise at that fixed rate.</summary>
    Task<RunSample> RunAsync(TimeSpan duration, double? batchesPerSecond, CancellationToken cancellationToken);
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Jex.Cli.Bench;

namespace Jex.Cli.Soak;

/// <summary>
/// The outcome of one transport's soak. <see cref="Seconds"/> and the counts cover the warm-up
/// too (<see cref="WarmupSeconds"/> of it); sample times are from the end of the warm-up
/// (negative during it).
/// </summary>
internal sealed record SoakResult(string Path, int RuntimePid, double Seconds, double WarmupSeconds, SoakCounts Counts, IReadOnlyList<RssSample> Samples, SoakVerdict Verdict, string? Error, string? FirstWrong)
{
    public double EventsPerSecond => Seconds > 0 ? Counts.ItemsOk / Seconds : 0;
}

/// <summary>
/// Runs the soak on each transport in turn: a fresh forked runtime, one session at saturation for
/// the warm-up and the window, the runtime's RSS sampled every second, progress lines, and a
/// summary line with the verdict as each transport ends.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SoakRunner(SoakSettings settings, TextWriter progress, TextWriter summary)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public async Task<IReadOnlyList<SoakResult>> RunAsync(CancellationToken cancellationToken)
    {
        var results = new List<SoakResult>();
        foreach (var path in settings.Paths)
        {
            var result = await RunPathAsync(path, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            await summary.WriteLineAsync(SummaryLine(result, settings)).ConfigureAwait(false);
        }

        return results;
    }

    private async Task<SoakResult> RunPathAsync(string name, CancellationToken cancellationToken)
    {
        var bench = new BenchSettings { Runtime = settings.Runtime, Samples = settings.Samples };
        await using var path = BenchPath.Create(name, bench);
        var raw = new List<RssSample>();
        var monitor = new Monitor(name, settings, progress);
        SoakWorkload? workload = null;
        string? error = null;
        var started = Stopwatch.GetTimestamp();
        double seconds = 0;
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? monitoring = null;
        try
        {
            await path.StartAsync(cancellationToken).ConfigureAwait(false);
            monitor.Pid = path.RuntimePid;
            await using var channel = await path.OpenAsync(cancellationToken).ConfigureAwait(false);
            workload = new SoakWorkload(channel, settings.Payload, settings.Batch, settings.InFlight);
            await workload.OpenAsync(path.Token, settings.Function, cancellationToken).ConfigureAwait(false);
            await progress.WriteLineAsync(string.Create(Inv, $"soak {name}: runtime pid {monitor.Pid}, warm-up {settings.Warmup.TotalSeconds:0}-{settings.WarmupMax.TotalSeconds:0} s (until RSS is flat), then {settings.Duration.TotalSeconds:0} s at saturation, {settings.Batch} x {settings.Payload} B {settings.Function}, {settings.InFlight} in flight")).ConfigureAwait(false);

            started = Stopwatch.GetTimestamp();
            monitoring = monitor.RunAsync(workload, raw, started, runCts);
            try
            {
                // Sends until the monitor ends the warm-up and moves the end to the window's.
                await workload.RunAsync(settings.WarmupMax + settings.Duration, runCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (monitor.Stalled is not null)
            {
                throw new TimeoutException(monitor.Stalled);
            }

            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await runCts.CancelAsync().ConfigureAwait(false);
            await monitoring.ConfigureAwait(false);
            using var closeCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            closeCts.CancelAfter(TimeSpan.FromSeconds(30));
            await workload.CloseAsync(closeCts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            error = e.GetType().Name + ": " + e.Message;
            await runCts.CancelAsync().ConfigureAwait(false);
            if (monitoring is not null)
            {
                await monitoring.ConfigureAwait(false);
            }
        }

        if (seconds == 0)
        {
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        // Sample times from the window's start: the warm-up's are negative.
        var warmup = monitor.WindowStart ?? settings.WarmupMax.TotalSeconds;
        var samples = raw.Select(s => s with { Seconds = s.Seconds - warmup }).ToList();
        var counts = workload?.Ledger.Counts() ?? new SoakCounts(0, 0, 0, 0, 0, 0, 0, 0);
        var verdict = SoakVerdict.Evaluate(counts, samples, settings.EffectiveReferenceSeconds, settings.TolerancePercent, error);
        return new SoakResult(name, monitor.Pid, seconds, warmup, counts, samples, verdict, error, workload?.FirstWrong);
    }

    /// <summary>
    /// Every second: an RSS sample, the warm-up rule, and the stall watch; every few seconds a
    /// progress line. Runs until the load stops (its token is cancelled).
    /// </summary>
    private sealed class Monitor(string name, SoakSettings settings, TextWriter progress)
    {
        public int Pid { get; set; }

        /// <summary>Seconds from the start of the load to the end of the warm-up; null during it.</summary>
        public double? WindowStart { get; private set; }

        /// <summary>Why the run was stopped for want of results, if it was.</summary>
        public string? Stalled { get; private set; }

        public async Task RunAsync(SoakWorkload workload, List<RssSample> samples, long started, CancellationTokenSource run)
        {
            var ledger = workload.Ledger;
            using var timer = new PeriodicTimer(settings.SampleEvery);
            var lastProgress = started;
            long lastProgressEvents = 0;
            var lastMove = Stopwatch.GetTimestamp();
            var lastReceived = ledger.BatchesReceived;
            try
            {
                while (await timer.WaitForNextTickAsync(run.Token).ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    var events = ledger.ItemsOk;
                    var sample = new RssSample(
                        Stopwatch.GetElapsedTime(started, now).TotalSeconds,
                        ProcStatus.RssBytes(Pid) ?? 0,
                        ProcStatus.RssBytes(Environment.ProcessId) ?? 0,
                        events);
                    samples.Add(sample);
                    if (WindowStart is null && SoakWarmup.IsOver(samples, settings.Warmup.TotalSeconds, settings.WarmupMax.TotalSeconds))
                    {
                        WindowStart = sample.Seconds;
                        workload.EndAt(now + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency));
                        await progress.WriteLineAsync(string.Create(Inv, $"soak {name}: warm-up over at {sample.Seconds:F0} s (runtime RSS {SoakVerdict.Mib(sample.RuntimeRssBytes)}); the {settings.Duration.TotalSeconds:0} s window starts")).ConfigureAwait(false);
                    }

                    var received = ledger.BatchesReceived;
                    if (received != lastReceived)
                    {
                        lastReceived = received;
                        lastMove = now;
                    }
                    else if (Stopwatch.GetElapsedTime(lastMove, now) >= settings.StallAfter)
                    {
                        Stalled = string.Create(Inv, $"no result for {settings.StallAfter.TotalSeconds:0} s with batches outstanding (runtime pid {Pid}: {(sample.RuntimeRssBytes > 0 ? "alive" : "gone")})");
                        await run.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    if (Stopwatch.GetElapsedTime(lastProgress, now) >= settings.ProgressEvery)
                    {
                        var rate = (events - lastProgressEvents) / Stopwatch.GetElapsedTime(lastProgress, now).TotalSeconds;
                        var at = WindowStart is { } w ? string.Create(Inv, $"{sample.Seconds - w,5:F0} s") : string.Create(Inv, $"warm-up {sample.Seconds:F0} s");
                        await progress.WriteLineAsync(string.Create(Inv, $"soak {name}: {at}  {rate,12:N0} events/s  runtime RSS {SoakVerdict.Mib(sample.RuntimeRssBytes)}  member RSS {SoakVerdict.Mib(sample.MemberRssBytes)}  items {events:N0}")).ConfigureAwait(false);
                        lastProgress = now;
                        lastProgressEvents = events;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The load is over.
            }
        }
    }

    public static string SummaryLine(SoakResult r, SoakSettings settings)
    {
        var v = r.Verdict;
        var rss = v.Reference is { } reference && v.Final is { } final
            ? string.Create(Inv, $"runtime RSS {SoakVerdict.Mib(reference.RuntimeRssBytes)} at {reference.Seconds:F0} s, final {SoakVerdict.Mib(final.RuntimeRssBytes)} ({(v.GrowthPercent >= 0 ? "+" : string.Empty)}{v.GrowthPercent:F1}%, limit +{settings.TolerancePercent:0.#}%), max {SoakVerdict.Mib(v.MaxRuntimeRssBytes)}")
            : "runtime RSS: no reference sample";
        var c = r.Counts;
        var line = string.Create(Inv, $"soak {r.Path}: {(v.Passed ? "PASS" : "FAIL")} {r.Seconds:F0} s ({r.WarmupSeconds:F0} s warm-up), {r.EventsPerSecond:N0} events/s, {c.ItemsSent:N0} items sent, {c.ItemsOk:N0} right, lost {c.Lost:N0}, wrong {c.ItemsWrong:N0}, duplicated {c.Duplicates:N0}; {rss}");
        return v.Passed ? line : line + "\n" + string.Join('\n', v.Reasons.Select(x => $"soak {r.Path}:   {x}")) + (r.FirstWrong is { } w ? $"\nsoak {r.Path}:   first wrong result: {w}" : string.Empty);
    }
}

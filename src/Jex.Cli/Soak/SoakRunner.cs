using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Jex.Cli.Bench;

namespace Jex.Cli.Soak;

/// <summary>
/// The outcome of one transport's soak. <see cref="Seconds"/> and the counts cover the warm-up
/// too; sample times are from the end of the warm-up (negative during it).
/// </summary>
internal sealed record SoakResult(string Path, int RuntimePid, double Seconds, SoakCounts Counts, IReadOnlyList<RssSample> Samples, SoakVerdict Verdict, string? Error, string? FirstWrong)
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
        var samples = new List<RssSample>();
        SoakWorkload? workload = null;
        string? error = null;
        var pid = 0;
        var started = Stopwatch.GetTimestamp();
        double seconds = 0;
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string? stalled = null;
        Task? monitor = null;
        try
        {
            await path.StartAsync(cancellationToken).ConfigureAwait(false);
            pid = path.RuntimePid;
            await using var channel = await path.OpenAsync(cancellationToken).ConfigureAwait(false);
            workload = new SoakWorkload(channel, settings.Payload, settings.Batch, settings.InFlight);
            await workload.OpenAsync(path.Token, settings.Function, cancellationToken).ConfigureAwait(false);
            await progress.WriteLineAsync(string.Create(Inv, $"soak {name}: runtime pid {pid}, {settings.Warmup.TotalSeconds:0} s warm-up then {settings.Duration.TotalSeconds:0} s at saturation, {settings.Batch} x {settings.Payload} B {settings.Function}, {settings.InFlight} in flight")).ConfigureAwait(false);

            started = Stopwatch.GetTimestamp();
            var ledger = workload.Ledger;
            monitor = MonitorAsync(name, pid, ledger, samples, started, reason =>
            {
                stalled = reason;
                runCts.Cancel();
            }, runCts.Token);
            try
            {
                await workload.RunAsync(settings.Warmup + settings.Duration, runCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stalled is not null)
            {
                throw new TimeoutException(stalled);
            }

            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await runCts.CancelAsync().ConfigureAwait(false);
            await monitor.ConfigureAwait(false);
            using var closeCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            closeCts.CancelAfter(TimeSpan.FromSeconds(30));
            await workload.CloseAsync(closeCts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            error = e.GetType().Name + ": " + e.Message;
            await runCts.CancelAsync().ConfigureAwait(false);
            if (monitor is not null)
            {
                await monitor.ConfigureAwait(false);
            }
        }

        if (seconds == 0)
        {
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        var counts = workload?.Ledger.Counts() ?? new SoakCounts(0, 0, 0, 0, 0, 0, 0, 0);
        var verdict = SoakVerdict.Evaluate(counts, samples, settings.EffectiveReferenceSeconds, settings.TolerancePercent, error);
        return new SoakResult(name, pid, seconds, counts, samples, verdict, error, workload?.FirstWrong);
    }

    /// <summary>
    /// Every second: an RSS sample; every few seconds: a progress line; and the stall watch. Runs
    /// until the load stops (its token is cancelled).
    /// </summary>
    private async Task MonitorAsync(string name, int pid, SoakLedger<SoakBatch> ledger, List<RssSample> samples, long started, Action<string> stall, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(settings.SampleEvery);
        var lastProgress = started;
        long lastProgressEvents = 0;
        var lastMove = Stopwatch.GetTimestamp();
        var lastReceived = ledger.BatchesReceived;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                var events = ledger.ItemsOk;
                var sample = new RssSample(
                    Stopwatch.GetElapsedTime(started, now).TotalSeconds - settings.Warmup.TotalSeconds,
                    ProcStatus.RssBytes(pid) ?? 0,
                    ProcStatus.RssBytes(Environment.ProcessId) ?? 0,
                    events);
                lock (samples)
                {
                    samples.Add(sample);
                }

                var received = ledger.BatchesReceived;
                if (received != lastReceived)
                {
                    lastReceived = received;
                    lastMove = now;
                }
                else if (Stopwatch.GetElapsedTime(lastMove, now) >= settings.StallAfter)
                {
                    stall(string.Create(Inv, $"no result for {settings.StallAfter.TotalSeconds:0} s with batches outstanding (runtime pid {pid}: {(sample.RuntimeRssBytes > 0 ? "alive" : "gone")})"));
                    return;
                }

                if (Stopwatch.GetElapsedTime(lastProgress, now) >= settings.ProgressEvery)
                {
                    var rate = (events - lastProgressEvents) / Stopwatch.GetElapsedTime(lastProgress, now).TotalSeconds;
                    await progress.WriteLineAsync(string.Create(Inv, $"soak {name}: {sample.Seconds,5:F0} s{(sample.Seconds < 0 ? " (warm-up)" : string.Empty)}  {rate,12:N0} events/s  runtime RSS {SoakVerdict.Mib(sample.RuntimeRssBytes)}  member RSS {SoakVerdict.Mib(sample.MemberRssBytes)}  items {events:N0}")).ConfigureAwait(false);
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

    public static string SummaryLine(SoakResult r, SoakSettings settings)
    {
        var v = r.Verdict;
        var rss = v.Reference is { } reference && v.Final is { } final
            ? string.Create(Inv, $"runtime RSS {SoakVerdict.Mib(reference.RuntimeRssBytes)} at {reference.Seconds:F0} s, final {SoakVerdict.Mib(final.RuntimeRssBytes)} ({v.GrowthPercent:+0.0;-0.0}%, limit +{settings.TolerancePercent:0.#}%), max {SoakVerdict.Mib(v.MaxRuntimeRssBytes)}")
            : "runtime RSS: no reference sample";
        var c = r.Counts;
        var line = string.Create(Inv, $"soak {r.Path}: {(v.Passed ? "PASS" : "FAIL")} {r.Seconds:F0} s, {r.EventsPerSecond:N0} events/s, {c.ItemsSent:N0} items sent, {c.ItemsOk:N0} right, lost {c.Lost:N0}, wrong {c.ItemsWrong:N0}, duplicated {c.Duplicates:N0}; {rss}");
        return v.Passed ? line : line + "\n" + string.Join('\n', v.Reasons.Select(x => $"soak {r.Path}:   {x}")) + (r.FirstWrong is { } w ? $"\nsoak {r.Path}:   first wrong result: {w}" : string.Empty);
    }
}

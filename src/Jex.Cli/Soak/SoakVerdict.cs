using System.Globalization;

namespace Jex.Cli.Soak;

/// <summary>One RSS sample: seconds since the load started, and resident set sizes in bytes.</summary>
/// <remarks>Samples from the warm-up have negative times; <see cref="SoakVerdict.Evaluate"/> judges the rest.</remarks>
internal sealed record RssSample(double Seconds, long RuntimeRssBytes, long MemberRssBytes, long Events);

/// <summary>
/// Whether a soak run passed: nothing lost, duplicated or wrong, and the runtime's RSS at the end
/// no more than <c>tolerance</c> above its RSS at the reference time (after warm-up: JIT tiers,
/// pools and GC heaps have settled by then, so growth after it is what a leak would look like).
/// </summary>
internal sealed record SoakVerdict(bool Passed, IReadOnlyList<string> Reasons, RssSample? Reference, RssSample? Final, long MaxRuntimeRssBytes, double? GrowthPercent)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The reference time for a run of <paramref name="durationSeconds"/>: <paramref name="requested"/>
    /// seconds, but no later than a third of the run, so a short run still has a reference to
    /// compare with and a stretch after it to watch.
    /// </summary>
    public static double ReferenceSeconds(double durationSeconds, double requested = 10) =>
        Math.Min(requested, durationSeconds / 3);

    public static SoakVerdict Evaluate(SoakCounts counts, IReadOnlyList<RssSample> samples, double referenceSeconds, double tolerancePercent, string? error)
    {
        var reasons = new List<string>();
        if (error is not null)
        {
            reasons.Add("the run failed: " + error);
        }

        if (counts.Lost > 0)
        {
            reasons.Add($"{counts.Lost.ToString("N0", Inv)} item(s) sent never got a result (lost)");
        }

        if (counts.ItemsWrong > 0)
        {
            reasons.Add($"{counts.ItemsWrong.ToString("N0", Inv)} item(s) came back failed, missing from their result, or with an output that is not their input");
        }

        if (counts.Duplicates > 0)
        {
            reasons.Add($"{counts.Duplicates.ToString("N0", Inv)} batch(es) got a second result (duplicated)");
        }

        if (counts.Unknown > 0)
        {
            reasons.Add($"{counts.Unknown.ToString("N0", Inv)} result(s) carried a batch id that was never sent");
        }

        if (counts.ItemsOk + counts.ItemsWrong + counts.Lost != counts.ItemsSent)
        {
            reasons.Add($"the counts do not add up: {counts.ItemsSent} sent, {counts.ItemsOk} right + {counts.ItemsWrong} wrong + {counts.Lost} lost");
        }

        if (counts.ItemsSent == 0 && error is null)
        {
            reasons.Add("nothing was sent");
        }

        var window = samples.Where(s => s.Seconds >= 0).ToList();
        samples = window;
        var reference = samples.FirstOrDefault(s => s.Seconds >= referenceSeconds);
        var final = samples.Count > 0 ? samples[^1] : null;
        var max = samples.Count > 0 ? samples.Max(s => s.RuntimeRssBytes) : 0;
        double? growth = null;
        if (reference is null || final is null || ReferenceEquals(reference, final))
        {
            reasons.Add($"no RSS sample after the reference time ({referenceSeconds.ToString("0.#", Inv)} s) to compare with: the run is too short or the runtime was gone");
        }
        else if (reference.RuntimeRssBytes <= 0 || final.RuntimeRssBytes <= 0)
        {
            reasons.Add("the runtime's RSS could not be read (was it gone?)");
        }
        else
        {
            growth = (final.RuntimeRssBytes - reference.RuntimeRssBytes) * 100.0 / reference.RuntimeRssBytes;
            if (growth > tolerancePercent)
            {
                reasons.Add(string.Create(Inv, $"runtime RSS grew {growth:F1}% from {Mib(reference.RuntimeRssBytes)} at {reference.Seconds:F0} s to {Mib(final.RuntimeRssBytes)} at {final.Seconds:F0} s (limit +{tolerancePercent:0.#}%)"));
            }
        }

        return new SoakVerdict(reasons.Count == 0, reasons, reference, final, max, growth);
    }

    public static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", Inv) + " MiB";
}

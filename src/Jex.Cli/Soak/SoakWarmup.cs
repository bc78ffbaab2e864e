namespace Jex.Cli.Soak;

/// <summary>
/// When the warm-up is over: the runtime's RSS has risen no more than <see cref="FlatPercent"/>
/// over the last <see cref="FlatSeconds"/>, after the minimum warm-up; or the maximum is reached.
/// A leak does not hide behind this rule: a fast one never looks flat, so the warm-up runs to its
/// maximum and the window then sees the growth; a slow one looks flat over 5 s and grows over the
/// window.
/// </summary>
internal static class SoakWarmup
{
    public const double FlatSeconds = 5;

    public const double FlatPercent = 2;

    /// <param name="samples">Samples so far, times from the start of the load, oldest first.</param>
    /// <param name="minSeconds">The least warm-up.</param>
    /// <param name="maxSeconds">The most warm-up.</param>
    public static bool IsOver(IReadOnlyList<RssSample> samples, double minSeconds, double maxSeconds)
    {
        if (samples.Count == 0)
        {
            return false;
        }

        var last = samples[^1];
        if (last.Seconds >= maxSeconds)
        {
            return true;
        }

        if (last.Seconds < minSeconds || last.RuntimeRssBytes <= 0)
        {
            return false;
        }

        // The sample FlatSeconds back (or the nearest before it); none yet means too early to say.
        RssSample? earlier = null;
        for (var i = samples.Count - 1; i >= 0; i--)
        {
            if (samples[i].Seconds <= last.Seconds - FlatSeconds)
            {
                earlier = samples[i];
                break;
            }
        }

        return earlier is { RuntimeRssBytes: > 0 } e && last.RuntimeRssBytes <= e.RuntimeRssBytes * (1 + (FlatPercent / 100));
    }
}

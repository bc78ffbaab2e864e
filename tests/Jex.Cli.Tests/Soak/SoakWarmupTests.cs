using Jex.Cli.Soak;

namespace Jex.Cli.Tests.Soak;

/// <summary>The warm-up ends once RSS is flat (within 2% over 5 s) after the minimum, or at the maximum.</summary>
public sealed class SoakWarmupTests
{
    private const long Mib = 1024 * 1024;

    private static List<RssSample> Rss(params long[] mibPerSecond) =>
        [.. mibPerSecond.Select((m, i) => new RssSample(i + 1, m * Mib, 0, 0))];

    [Fact]
    public void IsOver_FlatRssBeforeTheMinimum_IsNotOver() =>
        Assert.False(SoakWarmup.IsOver(Rss(100, 100, 100, 100, 100, 100, 100, 100, 100), 10, 40));

    [Fact]
    public void IsOver_FlatRssFromTheMinimum_IsOver() =>
        Assert.True(SoakWarmup.IsOver(Rss(100, 100, 100, 100, 100, 100, 100, 100, 100, 100), 10, 40));

    [Fact]
    public void IsOver_RssStillClimbingPastTheMinimum_IsNotOver() =>
        // 80 -> 135 MiB over ten seconds: 3% in the last five.
        Assert.False(SoakWarmup.IsOver(Rss(80, 86, 92, 98, 104, 110, 116, 122, 128, 132, 135), 10, 40));

    [Fact]
    public void IsOver_RssThatStoppedClimbing_IsOverOnceFlatForFiveSeconds()
    {
        var samples = Rss(80, 90, 100, 110, 120, 130, 134, 135, 135, 135, 135, 135);

        Assert.False(SoakWarmup.IsOver(samples[..11], 10, 40)); // at 11 s: 135 MiB, 130 five seconds back (+3.8%)
        Assert.True(SoakWarmup.IsOver(samples, 10, 40));
    }

    [Fact]
    public void IsOver_AtTheMaximum_IsOverEvenIfRssClimbs() =>
        Assert.True(SoakWarmup.IsOver([.. Enumerable.Range(1, 40).Select(t => new RssSample(t, t * 10 * Mib, 0, 0))], 10, 40));

    [Fact]
    public void IsOver_WithNoRssReadable_WaitsForTheMaximum()
    {
        Assert.False(SoakWarmup.IsOver(Rss(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 10, 40));
        Assert.False(SoakWarmup.IsOver([], 10, 40));
    }
}

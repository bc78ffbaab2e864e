using Jex.Cli.Soak;

namespace Jex.Cli.Tests.Soak;

/// <summary>The verdict rules: nothing lost, duplicated or wrong, and the final RSS within the tolerance of the reference.</summary>
public sealed class SoakVerdictTests
{
    private const long Mib = 1024 * 1024;

    private static readonly SoakCounts Clean = new(BatchesSent: 10, ItemsSent: 2560, BatchesReceived: 10, ItemsOk: 2560, ItemsWrong: 0, Duplicates: 0, Unknown: 0, Lost: 0);

    /// <summary>One sample a second for <paramref name="seconds"/> s: RSS <paramref name="early"/> MiB up to 10 s, then <paramref name="late"/>.</summary>
    private static List<RssSample> Samples(int seconds, long early, long late) =>
        [.. Enumerable.Range(1, seconds).Select(t => new RssSample(t + 0.02, (t < 10 ? early : late) * Mib, 50 * Mib, t * 1000))];

    [Fact]
    public void Evaluate_CleanRunWithFlatRss_Passes()
    {
        var verdict = SoakVerdict.Evaluate(Clean, Samples(60, 100, 100), 10, 10, error: null);

        Assert.True(verdict.Passed, string.Join("; ", verdict.Reasons));
        Assert.Empty(verdict.Reasons);
        Assert.Equal(10.02, verdict.Reference!.Seconds, 3);
        Assert.Equal(60.02, verdict.Final!.Seconds, 3);
        Assert.Equal(0, verdict.GrowthPercent!.Value, 3);
    }

    [Fact]
    public void Evaluate_GrowthBeforeTheReferenceTime_DoesNotCount()
    {
        // Warm-up: 60 MiB until 10 s, 100 MiB from then on; the reference is the 10 s sample.
        var verdict = SoakVerdict.Evaluate(Clean, Samples(60, 60, 100), 10, 10, error: null);

        Assert.True(verdict.Passed, string.Join("; ", verdict.Reasons));
        Assert.Equal(100 * Mib, verdict.Reference!.RuntimeRssBytes);
    }

    [Fact]
    public void Evaluate_WarmUpSamples_AreNeitherTheReferenceNorTheFinal()
    {
        // The warm-up's samples have negative times; its RSS climb is not judged, a late climb is.
        List<RssSample> samples =
        [
            .. Enumerable.Range(-10, 10).Select(t => new RssSample(t, (40 + (t * 3)) * Mib, 0, 0)),
            .. Samples(60, 100, 100),
        ];
        samples[^1] = samples[^1] with { RuntimeRssBytes = 120 * Mib };

        var verdict = SoakVerdict.Evaluate(Clean, samples, 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Equal(10.02, verdict.Reference!.Seconds, 3);
        Assert.Equal(20, verdict.GrowthPercent!.Value, 3);
    }

    [Theory]
    [InlineData(110, true)]
    [InlineData(111, false)]
    [InlineData(90, true)]
    public void Evaluate_FinalRssAgainstTenPercentOverTheReference_FailsOnlyAboveIt(long finalMib, bool passes)
    {
        var samples = Samples(60, 100, 100);
        samples[^1] = samples[^1] with { RuntimeRssBytes = finalMib * Mib };

        var verdict = SoakVerdict.Evaluate(Clean, samples, 10, 10, error: null);

        Assert.Equal(passes, verdict.Passed);
        Assert.Equal(finalMib - 100, verdict.GrowthPercent!.Value, 3);
        if (!passes)
        {
            var reason = Assert.Single(verdict.Reasons);
            Assert.Equal("runtime RSS grew 11.0% from 100.0 MiB at 10 s to 111.0 MiB at 60 s (limit +10%)", reason);
        }
    }

    [Fact]
    public void Evaluate_MaxRss_IsTheHighestSampleNotTheLast()
    {
        var samples = Samples(60, 100, 100);
        samples[30] = samples[30] with { RuntimeRssBytes = 150 * Mib };

        var verdict = SoakVerdict.Evaluate(Clean, samples, 10, 10, error: null);

        Assert.True(verdict.Passed);
        Assert.Equal(150 * Mib, verdict.MaxRuntimeRssBytes);
    }

    [Fact]
    public void Evaluate_LostItems_FailsAndSaysHowMany()
    {
        var counts = Clean with { ItemsOk = 2304, BatchesReceived = 9, Lost = 256 };

        var verdict = SoakVerdict.Evaluate(counts, Samples(60, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Equal("256 item(s) sent never got a result (lost)", Assert.Single(verdict.Reasons));
    }

    [Fact]
    public void Evaluate_WrongItems_Fails()
    {
        var counts = Clean with { ItemsOk = 2559, ItemsWrong = 1 };

        var verdict = SoakVerdict.Evaluate(counts, Samples(60, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.StartsWith("1 item(s) came back failed", Assert.Single(verdict.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DuplicateAndUnknownResults_FailEach()
    {
        var counts = Clean with { Duplicates = 2, Unknown = 1 };

        var verdict = SoakVerdict.Evaluate(counts, Samples(60, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Equal(
            ["2 batch(es) got a second result (duplicated)", "1 result(s) carried a batch id that was never sent"],
            verdict.Reasons);
    }

    [Fact]
    public void Evaluate_CountsThatDoNotAddUp_Fails()
    {
        // Items the ledger neither counted right, wrong nor outstanding: a bookkeeping bug must not pass.
        var counts = Clean with { ItemsOk = 2000 };

        var verdict = SoakVerdict.Evaluate(counts, Samples(60, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.StartsWith("the counts do not add up", Assert.Single(verdict.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_AnError_FailsEvenWithCleanCounts()
    {
        var verdict = SoakVerdict.Evaluate(Clean, Samples(60, 100, 100), 10, 10, error: "TimeoutException: no result for 30 s");

        Assert.False(verdict.Passed);
        Assert.Equal("the run failed: TimeoutException: no result for 30 s", Assert.Single(verdict.Reasons));
    }

    [Fact]
    public void Evaluate_NoSampleAfterTheReference_Fails()
    {
        var verdict = SoakVerdict.Evaluate(Clean, Samples(10, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Null(verdict.GrowthPercent);
        Assert.StartsWith("no RSS sample after the reference time (10 s)", Assert.Single(verdict.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_RuntimeGoneSoRssUnreadable_Fails()
    {
        var samples = Samples(60, 100, 100);
        samples[^1] = samples[^1] with { RuntimeRssBytes = 0 };

        var verdict = SoakVerdict.Evaluate(Clean, samples, 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Contains("could not be read", Assert.Single(verdict.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_NothingSent_Fails()
    {
        var verdict = SoakVerdict.Evaluate(new SoakCounts(0, 0, 0, 0, 0, 0, 0, 0), Samples(60, 100, 100), 10, 10, error: null);

        Assert.False(verdict.Passed);
        Assert.Equal("nothing was sent", Assert.Single(verdict.Reasons));
    }

    [Theory]
    [InlineData(60, 10, 10)]
    [InlineData(600, 10, 10)]
    [InlineData(12, 10, 4)]
    [InlineData(60, 30, 20)]
    public void ReferenceSeconds_IsTheRequestedTimeButNoLaterThanAThirdOfTheRun(double duration, double requested, double expected) =>
        Assert.Equal(expected, SoakVerdict.ReferenceSeconds(duration, requested), 6);
}

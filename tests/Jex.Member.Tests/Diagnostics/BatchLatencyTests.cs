using System.Diagnostics;
using Jex.Member.Diagnostics;

namespace Jex.Member.Tests.Diagnostics;

public sealed class BatchLatencyTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(15L)]
    [InlineData(16L)]
    [InlineData(17L)]
    [InlineData(1_000L)]
    [InlineData(123_456_789L)]
    [InlineData(long.MaxValue)]
    public void BucketOf_PutsEveryValueInABucketWhoseUpperBoundIsWithinOneSixteenthAboveIt(long value)
    {
        var bucket = BatchLatency.BucketOf(value);

        Assert.InRange(bucket, 0, BatchLatency.BucketCount - 1);
        var upper = BatchLatency.UpperBoundOf(bucket);
        Assert.True(upper >= value, $"bucket {bucket} ends at {upper}, below {value}");
        Assert.True(upper - value <= value / 16, $"bucket {bucket} ends at {upper}, more than 1/16 above {value}");
        Assert.True(bucket == 0 || BatchLatency.UpperBoundOf(bucket - 1) < value, $"{value} also fits the bucket below {bucket}");
    }

    [Fact]
    public void PercentileMs_OverOneToTenThousandMicroseconds_ReadsBackEachQuantileWithinOneSixteenth()
    {
        var latency = new BatchLatency();
        for (var us = 1; us <= 10_000; us++)
        {
            latency.RecordMicroseconds(us);
        }

        var snapshot = latency.Snapshot();

        Assert.Equal(10_000, snapshot.Count);
        Assert.Equal(10_000, snapshot.MaxMicroseconds);
        Assert.InRange(snapshot.PercentileMs(0.50), 5.0, 5.0 * 17 / 16);
        Assert.InRange(snapshot.PercentileMs(0.99), 9.9, 10.0);
        Assert.Equal(10.0, snapshot.PercentileMs(1.0));
    }

    [Fact]
    public void Since_CountsOnlyWhatWasRecordedAfterTheEarlierSnapshot()
    {
        var latency = new BatchLatency();
        for (var i = 0; i < 100; i++)
        {
            latency.RecordMicroseconds(50_000);
        }

        var before = latency.Snapshot();
        for (var i = 0; i < 10; i++)
        {
            latency.RecordMicroseconds(200);
        }

        var window = latency.Snapshot().Since(before);

        Assert.Equal(10, window.Count);
        Assert.InRange(window.PercentileMs(0.99), 0.2, 0.2 * 17 / 16);
    }

    [Fact]
    public void PercentileMs_WhenNothingWasRecorded_IsNaN() =>
        Assert.True(double.IsNaN(new BatchLatency().Snapshot().PercentileMs(0.5)));

    [Fact]
    public void RecordTicks_AllocatesNothing()
    {
        var latency = new BatchLatency();
        latency.RecordTicks(1);
        var before = GC.GetAllocatedBytesForCurrentThread();

        for (var i = 0; i < 100_000; i++)
        {
            latency.RecordTicks(i * 997L);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void RecordTicks_ConvertsStopwatchTicksToMicroseconds()
    {
        var latency = new BatchLatency();

        latency.RecordTicks(Stopwatch.Frequency / 1000 * 3);

        Assert.Equal(3.0, latency.Snapshot().PercentileMs(0.5));
    }
}

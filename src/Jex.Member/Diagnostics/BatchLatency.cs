using System.Diagnostics;
using System.Numerics;

namespace Jex.Member.Diagnostics;

/// <summary>
/// Batch round trips (send to result) in microseconds, counted in log-linear buckets: 16 per power
/// of two, so a percentile read back is at most 1/16 above the true value. Recording is one
/// interlocked increment into a fixed array (no allocation); any thread may record and read.
/// </summary>
internal sealed class BatchLatency
{
    internal const int SubBuckets = 16;
    private const int SubBits = 4;

    // Every non-negative long has a bucket: 16 exact ones below 16, then 16 per power of two up to 2^63.
    internal const int BucketCount = (64 - SubBits) * SubBuckets;

    private static readonly double MicrosecondsPerTick = 1e6 / Stopwatch.Frequency;
    private readonly long[] _counts = new long[BucketCount];
    private long _max;

    /// <summary>Records one round trip measured in <see cref="Stopwatch"/> ticks.</summary>
    public void RecordTicks(long ticks) => RecordMicroseconds((long)(Math.Max(0, ticks) * MicrosecondsPerTick));

    public void RecordMicroseconds(long microseconds)
    {
        var value = Math.Max(0, microseconds);
        Interlocked.Increment(ref _counts[BucketOf(value)]);
        var max = Volatile.Read(ref _max);
        while (value > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>A copy of the counts so far, to read percentiles from or to subtract from a later one.</summary>
    public LatencySnapshot Snapshot()
    {
        var counts = new long[BucketCount];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
        }

        return new LatencySnapshot(counts, Volatile.Read(ref _max));
    }

    internal static int BucketOf(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        var shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - SubBits;
        return ((shift + 1) * SubBuckets) + (int)((value >> shift) - SubBuckets);
    }

    /// <summary>The largest value that falls in <paramref name="bucket"/>.</summary>
    internal static long UpperBoundOf(int bucket)
    {
        if (bucket < SubBuckets)
        {
            return bucket;
        }

        var shift = (bucket / SubBuckets) - 1;
        var sub = (ulong)((bucket % SubBuckets) + SubBuckets);
        // In ulong: the top bucket's bound, 2^63 - 1, passes through 2^63.
        return (long)(((sub + 1) << shift) - 1);
    }
}

/// <summary>Counts of <see cref="BatchLatency"/> at one moment; percentiles in milliseconds.</summary>
internal sealed class LatencySnapshot
{
    private readonly long[] _counts;

    internal LatencySnapshot(long[] counts, long maxMicroseconds)
    {
        _counts = counts;
        MaxMicroseconds = maxMicroseconds;
        foreach (var c in counts)
        {
            Count += c;
        }
    }

    public static LatencySnapshot Empty { get; } = new(new long[BatchLatency.BucketCount], 0);

    public long Count { get; }

    /// <summary>The longest round trip recorded over the histogram's whole life.</summary>
    public long MaxMicroseconds { get; }

    /// <summary>What was recorded between <paramref name="earlier"/> and this snapshot.</summary>
    public LatencySnapshot Since(LatencySnapshot earlier)
    {
        var counts = new long[_counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = _counts[i] - earlier._counts[i];
        }

        return new LatencySnapshot(counts, MaxMicroseconds);
    }

    /// <summary>
    /// The round trip in ms that <paramref name="quantile"/> of batches did not exceed (the upper
    /// bound of its bucket, never above the largest value seen); NaN when nothing was recorded.
    /// </summary>
    public double PercentileMs(double quantile)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(BatchLatency.UpperBoundOf(i), MaxMicroseconds) / 1000.0;
            }
        }

        return MaxMicroseconds / 1000.0;
    }
}

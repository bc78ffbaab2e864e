using System.Diagnostics;
using System.Runtime.CompilerServices;
using Jex.UserCode;
using Jex.UserCode.Compact;

namespace Jex.Samples;

/// <summary>
/// The record <c>jex bench</c> sends in its Compact cells: Compact
/// <c>bench-record {id: INT64, payload: ARRAY_OF_INT8}</c>, the payload sized so the whole
/// <c>Data</c> value is as long as the cell's payload.
/// </summary>
[CompactType("bench-record")]
public sealed class BenchRecord
{
    public long Id { get; set; }

    public byte[] Payload { get; set; } = [];

    public override string ToString() => $"BenchRecord(Id={Id}, Payload={Payload.Length} B)";
}

/// <summary>The Compact counterparts of the benchmark's raw functions (identity and burn1us).</summary>
public static class BenchFunctions
{
    /// <summary>
    /// Returns the record it was given: the runtime decodes the Compact value into a
    /// <see cref="BenchRecord"/> and encodes it back, so the cell measures the binding both ways.
    /// </summary>
    [JexFunction("compactEcho")]
    public static BenchRecord CompactEcho(BenchRecord record) => record;

    /// <summary>Spins about one microsecond per item, then returns the record: burn1us over Compact.</summary>
    [JexFunction("compactBurn1us")]
    public static BenchRecord CompactBurn1Us(BenchRecord record)
    {
        BurnOneMicrosecond();
        return record;
    }

    /// <summary>Spins for about one microsecond (a CPU-bound load, not a sleep).</summary>
    internal static void BurnOneMicrosecond()
    {
        var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 1_000_000);
        while (Stopwatch.GetTimestamp() < until)
        {
            Spin();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Spin()
    {
    }
}

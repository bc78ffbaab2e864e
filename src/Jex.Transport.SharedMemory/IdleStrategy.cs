using System.Diagnostics;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// How a ring waiter passes time: spin (no syscall, lowest latency), then yield the core, then block
/// on the doorbell FIFO (CPU at rest is zero). The defaults are measured in docs/shared-memory.md.
/// </summary>
internal sealed class IdleStrategy
{
    public static readonly IdleStrategy Default = new(TimeSpan.FromMicroseconds(10), TimeSpan.Zero);

    /// <summary>Never spins or yields: blocks at once. Used to measure the pure doorbell wake-up.</summary>
    public static readonly IdleStrategy BlockOnly = new(TimeSpan.Zero, TimeSpan.Zero);

    public IdleStrategy(TimeSpan spin, TimeSpan yield)
    {
        SpinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        YieldTicks = SpinTicks + (long)(yield.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Stopwatch ticks to spin before yielding.</summary>
    public long SpinTicks { get; }

    /// <summary>Stopwatch ticks (from the start of the wait) after which the waiter blocks.</summary>
    public long YieldTicks { get; }
}

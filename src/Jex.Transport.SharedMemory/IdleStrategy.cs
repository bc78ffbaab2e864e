using System.Diagnostics;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// How a ring waiter passes time: spin (no syscall, lowest latency), then yield the core, then block
/// on the doorbell FIFO (CPU at rest is zero). <see cref="For(WaitMode, int)"/> maps a <see cref="WaitMode"/> onto
/// one; the choices are measured in docs/shared-memory.md ("Waiting: adaptive, spin, block").
/// </summary>
internal sealed class IdleStrategy
{
    /// <summary>Spin 10 µs, then block: the channel's default when no <see cref="WaitMode"/> is given.</summary>
    public static readonly IdleStrategy Default = new(TimeSpan.FromMicroseconds(10), TimeSpan.Zero);

    /// <summary>
    /// Adaptive with cores to spare: spin 100 µs, yield up to 200 µs, then block. 100 µs covers the
    /// gap between back-to-back batches of a busy session (a 256-item batch takes about 60 µs to run),
    /// so under load the reader never sleeps; an idle session costs at most 200 µs of CPU per gap.
    /// </summary>
    public static readonly IdleStrategy ManyCoresAdaptive = new(TimeSpan.FromMicroseconds(100), TimeSpan.FromMicroseconds(100));

    /// <summary>Spin 1 ms, yield 1 ms more, then block: bounded, so an idle runtime still costs about nothing.</summary>
    public static readonly IdleStrategy LongSpin = new(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1));

    /// <summary>Never spins or yields: blocks at once. What adaptive picks on fewer than <see cref="ManyCores"/> cores.</summary>
    public static readonly IdleStrategy BlockOnly = new(TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>
    /// From this many cores, adaptive spins long. Below it a spinning waiter takes the core the
    /// other side (or the batch's own worker) needs: on 2 cores even a 10 µs spin measured slower
    /// than blocking at once, in every cell (docs/shared-memory.md).
    /// </summary>
    public const int ManyCores = 4;

    public IdleStrategy(TimeSpan spin, TimeSpan yield)
    {
        SpinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        YieldTicks = SpinTicks + (long)(yield.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Stopwatch ticks to spin before yielding.</summary>
    public long SpinTicks { get; }

    /// <summary>Stopwatch ticks (from the start of the wait) after which the waiter blocks.</summary>
    public long YieldTicks { get; }

    /// <summary>The strategy for <paramref name="mode"/> on a machine with <paramref name="processorCount"/> cores.</summary>
    public static IdleStrategy For(WaitMode mode, int processorCount) => mode switch
    {
        WaitMode.Spin => LongSpin,
        WaitMode.Block => BlockOnly,
        _ => processorCount >= ManyCores ? ManyCoresAdaptive : BlockOnly,
    };

    /// <summary>The strategy for <paramref name="mode"/> on this machine (<see cref="Environment.ProcessorCount"/>).</summary>
    public static IdleStrategy For(WaitMode mode) => For(mode, Environment.ProcessorCount);
}

using System.Diagnostics;
using Jex.Protocol.V1;
using Jex.Runtime.Diagnostics;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Process-wide counters: the totals reported in Pong, and the <see cref="RuntimeMetrics"/>
/// (<c>Meter "Jex.Runtime"</c>) behind the per-function instruments every session records to.
/// </summary>
internal sealed class RuntimeCounters
{
    private long _batches;
    private long _items;
    private long _errors;
    private int _inFlight;
    private long _logsDropped;

    public RuntimeCounters()
        : this(new RuntimeMetrics())
    {
    }

    public RuntimeCounters(RuntimeMetrics metrics) => Metrics = metrics;

    /// <summary>The instruments; sessions record through <see cref="RuntimeMetrics.ForSession"/>.</summary>
    public RuntimeMetrics Metrics { get; }

    public void BatchStarted() => Interlocked.Increment(ref _inFlight);

    public void BatchFinished(int items, int errors)
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _errors, errors);
    }

    public void LogDropped() => Interlocked.Increment(ref _logsDropped);

    public RuntimeStats Snapshot()
    {
        using var process = Process.GetCurrentProcess();
        return new RuntimeStats
        {
            Batches = (ulong)Interlocked.Read(ref _batches),
            Items = (ulong)Interlocked.Read(ref _items),
            Errors = (ulong)Interlocked.Read(ref _errors),
            AllocatedBytes = (ulong)GC.GetTotalAllocatedBytes(precise: false),
            CpuTimeUs = (ulong)(process.TotalProcessorTime.Ticks / (TimeSpan.TicksPerMillisecond / 1000)),
            InFlight = (uint)Math.Max(0, Volatile.Read(ref _inFlight)),
            LogsDropped = (ulong)Interlocked.Read(ref _logsDropped),
        };
    }
}

using System.Diagnostics;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// A side block (docs/shared-memory.md, "Liveness"): pid, side state and heartbeat of one party, the
/// runtime's in the header page and each slot's member's in its slot page. Every store is a release,
/// every load an acquire, because the other process reads what this one writes.
/// </summary>
internal static unsafe class SideBlock
{
    /// <summary>CLOCK_MONOTONIC in milliseconds: the heartbeat clock, the same in every process on the host.</summary>
    public static long MonotonicMilliseconds() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1000);

    /// <summary>Attaches <paramref name="pid"/>: heartbeat first, so a peer that sees the pid never judges a stale beat.</summary>
    public static void Attach(byte* side, int pid)
    {
        Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), MonotonicMilliseconds());
        Volatile.Write(ref *(int*)(side + L.SidePidOffset), pid);
        Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateAttached);
    }

    public static void Beat(byte* side, long now) => Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), now);

    public static void MarkClosed(byte* side) => Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateClosed);

    public static int Pid(byte* side) => Volatile.Read(ref *(int*)(side + L.SidePidOffset));

    public static void SetPid(byte* side, int pid) => Volatile.Write(ref *(int*)(side + L.SidePidOffset), pid);

    public static int State(byte* side) => Volatile.Read(ref *(int*)(side + L.SideStateOffset));

    public static long Heartbeat(byte* side) => Volatile.Read(ref *(long*)(side + L.SideHeartbeatOffset));
}

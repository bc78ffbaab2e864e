using System.Diagnostics;

namespace Jex.Transport.SharedMemory;

/// <summary>What a ring waiter waits for; a struct so the wait loop is specialised and allocation-free.</summary>
internal interface IWaitCondition
{
    bool IsMet();
}

/// <summary>
/// The eventcount wait shared by both ring ends. Spin, then yield, then block: set the waiting flag
/// with a full fence, re-check the condition, and only then sleep on the doorbell. The other side
/// publishes, issues a full fence, and rings only when it sees the flag (and clears it with a CAS).
/// Either the waiter sees the new data or the publisher sees the flag (Dekker), so no wake-up is lost
/// and under load nobody makes a system call.
/// </summary>
internal static unsafe class RingWait
{
    public static void Until<T>(ref T condition, int* waitingFlag, Doorbell bell, IdleStrategy idle, PeerWatch peer, CancellationToken cancellationToken)
        where T : struct, IWaitCondition
    {
        var start = Stopwatch.GetTimestamp();
        CancellationTokenRegistration registration = default;
        try
        {
            while (!condition.IsMet())
            {
                var elapsed = Stopwatch.GetTimestamp() - start;
                if (elapsed < idle.SpinTicks)
                {
                    Thread.SpinWait(16);
                    continue;
                }

                peer.ThrowIfLost();
                cancellationToken.ThrowIfCancellationRequested();
                if (elapsed < idle.YieldTicks)
                {
                    _ = Thread.Yield();
                    continue;
                }

                if (cancellationToken.CanBeCanceled && registration == default)
                {
                    registration = cancellationToken.UnsafeRegister(static state => ((Doorbell)state!).Ring(), bell);
                }

                _ = Interlocked.Exchange(ref *waitingFlag, 1);
                if (condition.IsMet())
                {
                    // If the CAS fails the publisher already cleared the flag and rang: the stale byte
                    // only causes one spurious wake-up later, which re-checks and sleeps again.
                    _ = Interlocked.CompareExchange(ref *waitingFlag, 0, 1);
                    return;
                }

                peer.ThrowIfLost();
                cancellationToken.ThrowIfCancellationRequested();
                _ = bell.Wait(-1);
            }
        }
        finally
        {
            registration.Dispose();
        }
    }

    /// <summary>The publisher's half: call after making data or space visible.</summary>
    public static void WakeIfWaiting(int* waitingFlag, Doorbell bell)
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref *waitingFlag) != 0 && Interlocked.CompareExchange(ref *waitingFlag, 0, 1) == 1)
        {
            bell.Ring();
        }
    }
}

/// <summary>Why the channel can no longer be used: the peer died or left, or this side closed it.</summary>
internal sealed class PeerWatch
{
    private readonly CancellationTokenSource _lost = new();
    private string? _reason;

    public bool IsLost => Volatile.Read(ref _reason) is not null;

    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>Cancelled when the peer is lost, for async adapters that await other things too.</summary>
    public CancellationToken LostToken => _lost.Token;

    public void ThrowIfLost()
    {
        if (Volatile.Read(ref _reason) is { } reason)
        {
            throw new SharedMemoryPeerLostException(reason);
        }
    }

    public bool MarkLost(string reason)
    {
        if (Interlocked.CompareExchange(ref _reason, reason, null) is not null)
        {
            return false;
        }

        _lost.Cancel();
        return true;
    }
}

using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// One side's liveness thread (docs/shared-memory.md, "Liveness"): every heartbeat interval it beats
/// this side's heartbeat and judges the peers. The runtime judges each slot's member; a member judges
/// the runtime and checks that it still holds its slot. A lost peer marks the slot's
/// <see cref="PeerWatch"/> and wakes the slot's waiters, then the callbacks run, on this thread.
/// </summary>
internal sealed unsafe class PeerMonitor : IDisposable
{
    private readonly byte* _file;
    private readonly string _path;
    private readonly SharedMemorySlot[] _slots;
    private readonly SharedMemorySlot? _own;
    private readonly SharedMemoryOptions _options;
    private readonly Action<SharedMemorySlot, string, bool> _memberLost;
    private readonly Action<string> _peerLost;
    private readonly ManualResetEventSlim _stop = new();
    private Thread? _thread;
    private volatile bool _runtimeDied;

    /// <param name="file">The mapping (for the runtime's side block).</param>
    /// <param name="path">The file, for messages and the survivor's cleanup.</param>
    /// <param name="slots">Creator: every slot. Member: its claimed slot only.</param>
    /// <param name="isCreator">Which side this is.</param>
    /// <param name="options">Heartbeat interval and timeout.</param>
    /// <param name="memberLost">Creator only: a slot's member closed (false) or died or froze (true).</param>
    /// <param name="peerLost">Any lost peer, after <paramref name="memberLost"/>.</param>
    public PeerMonitor(
        byte* file, string path, SharedMemorySlot[] slots, bool isCreator, SharedMemoryOptions options,
        Action<SharedMemorySlot, string, bool> memberLost, Action<string> peerLost)
    {
        _file = file;
        _path = path;
        _slots = slots;
        _own = isCreator ? null : slots[0];
        _options = options;
        _memberLost = memberLost;
        _peerLost = peerLost;
    }

    /// <summary>Member side: the runtime died (not closed); this side removed the files, as the survivor.</summary>
    public bool RuntimeDied => _runtimeDied;

    private byte* CreatorSide => _file + L.CreatorSideOffset;

    private byte* OwnSide => _own is null ? CreatorSide : _own.MemberSide;

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "jex-shm-monitor" };
        _thread.Start();
    }

    /// <summary>Stops the thread and waits for it (unless called on it), so no callback runs afterwards.</summary>
    public void Stop()
    {
        _stop.Set();
        if (_thread is not null && _thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }

    private void Run()
    {
        var interval = _options.HeartbeatInterval;
        var own = OwnSide;
        // The kernel wait, not ManualResetEventSlim.Wait: that spins before each sleep, which at 10 wake-ups a second is most of the runtime's CPU at rest.
        var stop = _stop.WaitHandle;
        while (!stop.WaitOne(interval))
        {
            var now = SideBlock.MonotonicMilliseconds();
            SideBlock.Beat(own, now);
            if (_own is null)
            {
                JudgeMembers(now);
            }
            else
            {
                JudgeRuntime(_own, now);
            }
        }
    }

    private void JudgeMembers(long now)
    {
        foreach (var slot in _slots)
        {
            string? reason;
            bool died;
            lock (slot.Gate)
            {
                if (slot.Peer.IsLost || (reason = JudgeMember(slot, now, out died)) is null || !slot.Peer.MarkLost(reason))
                {
                    continue;
                }

                slot.WakeOwnWaiters();
            }

            _memberLost(slot, reason, died);
            _peerLost(reason);
        }
    }

    private void JudgeRuntime(SharedMemorySlot own, long now)
    {
        if (own.Peer.IsLost)
        {
            return;
        }

        if (own.MemberPid is var holder && holder != own.ClaimPid)
        {
            // The runtime took the slot back (after this side broke the ring's rules): stop using it.
            var taken = $"The runtime took back slot {own.Index} of '{_path}' (its claim word now holds pid {holder}, not {own.ClaimPid}).";
            if (own.Peer.MarkLost(taken))
            {
                own.WakeOwnWaiters();
                _peerLost(taken);
            }
        }
        else if (Judge(CreatorSide, now, out var died) is { } reason)
        {
            if (died)
            {
                // The survivor cleans up (the runtime cannot any more), before the waiters hear of it,
                // so whoever reports the loss also finds the files gone.
                _runtimeDied = true;
                ChannelFile.RemoveFiles(_path);
            }

            if (own.Peer.MarkLost(reason))
            {
                own.WakeOwnWaiters();
                _peerLost(reason);
            }
        }
    }

    /// <summary>
    /// Creator side: why a slot's member is lost, or null while it lives. Besides <see cref="Judge"/>, a
    /// member that claimed the slot but never attached (side state still empty) within the heartbeat
    /// timeout is silent too: otherwise a live process could hold a slot without ever using it.
    /// </summary>
    private string? JudgeMember(SharedMemorySlot slot, long now, out bool died)
    {
        if (Judge(slot.MemberSide, now, out died) is { } reason)
        {
            return reason;
        }

        var pid = slot.MemberPid;
        if (pid == 0 || SideBlock.State(slot.MemberSide) != L.SideStateEmpty)
        {
            slot.ClaimSeenAt = 0;
            return null;
        }

        if (slot.ClaimSeenAt == 0)
        {
            slot.ClaimSeenAt = now;
            return null;
        }

        if (now - slot.ClaimSeenAt > (long)_options.HeartbeatTimeout.TotalMilliseconds)
        {
            died = true;
            return $"The shared-memory peer (pid {pid}) claimed slot {slot.Index} of '{_path}' but has not attached for {now - slot.ClaimSeenAt} ms.";
        }

        return null;
    }

    /// <summary>Why the side block's owner is lost (closed, exited, frozen), or null while it lives.</summary>
    private string? Judge(byte* side, long now, out bool died)
    {
        died = false;
        var pid = SideBlock.Pid(side);
        if (pid == 0)
        {
            return null;
        }

        var state = SideBlock.State(side);
        var beat = SideBlock.Heartbeat(side);
        if (state == L.SideStateClosed)
        {
            return $"The shared-memory peer (pid {pid}) closed the channel '{_path}'.";
        }

        died = true;
        if (!LibC.IsProcessAlive(pid))
        {
            return $"The shared-memory peer (pid {pid}) of '{_path}' exited.";
        }

        // A member between its claim and its first heartbeat (state still empty) is judged by its process only.
        if (state == L.SideStateAttached && now - beat > (long)_options.HeartbeatTimeout.TotalMilliseconds)
        {
            return $"The shared-memory peer (pid {pid}) of '{_path}' has not updated its heartbeat for {now - beat} ms.";
        }

        died = false;
        return null;
    }
}

using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// One session slot of a channel: a member side block, two rings and their four doorbells. A member
/// claims a free slot (pid 0) by CAS; while it holds it, the slot carries one session. When that
/// member closes, the creator <see cref="Recycle"/>s the slot for the next member. Each occupancy has
/// its own <see cref="Peer"/> watch and ring objects, so a stale session can never touch the next one.
/// </summary>
internal sealed unsafe class SharedMemorySlot : IDisposable
{
    private readonly byte* _slot;
    private readonly bool _isCreator;
    private readonly string _path;
    private readonly int _ring0;
    private readonly int _ring1;
    private readonly int _maxMessage;
    private readonly IdleStrategy _idle;
    private readonly Doorbell _inboundData;
    private readonly Doorbell _inboundSpace;
    private readonly Doorbell _outboundData;
    private readonly Doorbell _outboundSpace;

    internal SharedMemorySlot(int index, byte* slot, bool isCreator, string path, int ring0, int ring1, int maxMessage, IdleStrategy idle)
    {
        Index = index;
        _slot = slot;
        _isCreator = isCreator;
        _path = path;
        _ring0 = ring0;
        _ring1 = ring1;
        _maxMessage = maxMessage;
        _idle = idle;
        var inRing = isCreator ? 0 : 1;
        var outRing = 1 - inRing;
        _inboundData = new Doorbell(L.DataFifo(path, index, inRing));
        _inboundSpace = new Doorbell(L.SpaceFifo(path, index, inRing));
        _outboundData = new Doorbell(L.DataFifo(path, index, outRing));
        _outboundSpace = new Doorbell(L.SpaceFifo(path, index, outRing));
        Peer = new PeerWatch();
        CreateRings();
    }

    public int Index { get; }

    /// <summary>Held by the channel's monitor while it judges this slot, and by <see cref="Recycle"/>.</summary>
    internal object Gate { get; } = new();

    /// <summary>The current occupancy's liveness: lost when its member closed or died (creator side) or the runtime did (member side).</summary>
    public PeerWatch Peer { get; private set; }

    public RingConsumer Inbound { get; private set; } = null!;

    public RingProducer Outbound { get; private set; } = null!;

    /// <summary>Creator's monitor only: when it first saw the current claim without an attach (ms, 0 = not seen).</summary>
    internal long ClaimSeenAt { get; set; }

    /// <summary>The member holding the slot, 0 when free.</summary>
    public int MemberPid => Volatile.Read(ref *(int*)(MemberSide + L.SidePidOffset));

    internal byte* MemberSide => _slot + L.SlotMemberSideOffset;

    /// <summary>Member side: the pid this process claimed the slot with (a test may impersonate another); 0 on the creator.</summary>
    internal int ClaimPid { get; set; }

    /// <summary>Member side: the claim word still holds <see cref="ClaimPid"/>; false once the runtime took the slot back.</summary>
    internal bool HoldsClaim => MemberPid == ClaimPid;

    /// <summary>Test hook: the first byte of a ring's data.</summary>
    internal byte* DataPointer(int ring) => _slot + L.SlotHeaderSize + (ring == 0 ? 0 : _ring0);

    /// <summary>Claims the slot for this process: CAS of the member pid 0 -> pid. Returns the previous holder (0 = claimed).</summary>
    internal int TryClaim(int pid) => Interlocked.CompareExchange(ref *(int*)(MemberSide + L.SidePidOffset), pid, 0);

    /// <summary>Wakes this side's threads blocked on this slot (they re-check and find the peer lost).</summary>
    internal void WakeOwnWaiters()
    {
        _inboundData.Ring();
        _outboundSpace.Ring();
    }

    /// <summary>Wakes the peer's threads blocked on this slot, so it notices a close at once.</summary>
    internal void WakePeer()
    {
        _outboundData.Ring();
        _inboundSpace.Ring();
    }

    /// <summary>
    /// Creator only, once its own users of the slot have stopped and the member closed or died: zeroes
    /// the rings and their control blocks, drops stale wake bytes, starts a new occupancy and finally
    /// frees the claim word (release), after which a member may claim the slot.
    /// </summary>
    public void Recycle()
    {
        if (!_isCreator)
        {
            throw new InvalidOperationException("Only the runtime (creator) recycles a session slot.");
        }

        lock (Gate)
        {
            ClearRing(0, _ring0, _slot + L.SlotRing0ControlOffset);
            ClearRing(1, _ring1, _slot + L.SlotRing1ControlOffset);
            _inboundData.Drain();
            _inboundSpace.Drain();
            _outboundData.Drain();
            _outboundSpace.Drain();
            Peer = new PeerWatch();
            CreateRings();
            ClaimSeenAt = 0;
            Volatile.Write(ref *(long*)(MemberSide + L.SideHeartbeatOffset), 0);
            Volatile.Write(ref *(int*)(MemberSide + L.SideStateOffset), L.SideStateEmpty);
            Volatile.Write(ref *(int*)(MemberSide + L.SidePidOffset), 0);
        }
    }

    private void ClearRing(int ring, int capacity, byte* control)
    {
        var data = DataPointer(ring);
        // Positions start at 0 and the first frame is at index 0: a ring whose positions are still 0
        // and whose first frame header is blank was never written, and zeroing it would only make tmpfs
        // allocate its pages.
        var used = Volatile.Read(ref *(long*)(control + L.RingTailOffset)) != 0
            || Volatile.Read(ref *(long*)(control + L.RingHeadOffset)) != 0
            || *(long*)data != 0;
        if (used)
        {
            new Span<byte>(data, capacity).Clear();
        }

        new Span<byte>(control, L.RingControlSize).Clear();
        Interlocked.MemoryBarrier();
    }

    private void CreateRings()
    {
        var data0 = DataPointer(0);
        var data1 = DataPointer(1);
        var control0 = _slot + L.SlotRing0ControlOffset;
        var control1 = _slot + L.SlotRing1ControlOffset;
        var name0 = $"member-to-runtime ({_path}, slot {Index})";
        var name1 = $"runtime-to-member ({_path}, slot {Index})";
        if (_isCreator)
        {
            Inbound = new RingConsumer(name0, data0, control0, _ring0, _maxMessage, _inboundData, _inboundSpace, Peer, _idle);
            Outbound = new RingProducer(name1, data1, control1, _ring1, _maxMessage, _outboundData, _outboundSpace, Peer, _idle);
        }
        else
        {
            Inbound = new RingConsumer(name1, data1, control1, _ring1, _maxMessage, _inboundData, _inboundSpace, Peer, _idle);
            Outbound = new RingProducer(name0, data0, control0, _ring0, _maxMessage, _outboundData, _outboundSpace, Peer, _idle);
        }
    }

    public void Dispose()
    {
        _inboundData.Dispose();
        _inboundSpace.Dispose();
        _outboundData.Dispose();
        _outboundSpace.Dispose();
    }

    public override string ToString() => $"{_path} slot {Index}";
}

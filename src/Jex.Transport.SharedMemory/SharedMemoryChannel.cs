using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// One mapped file holding N session slots, each with two rings and four doorbell FIFOs, plus
/// heartbeating side blocks (docs/shared-memory.md). The runtime creates it; a member opens it and
/// claims a free slot. Each side writes to its slot's <see cref="SharedMemorySlot.Outbound"/> ring and
/// reads its <see cref="SharedMemorySlot.Inbound"/> ring. A <see cref="PeerMonitor"/> thread beats this
/// side's heartbeat and judges the peers. A lost peer marks the slot's <see cref="PeerWatch"/>, blocked
/// waiters wake and throw <see cref="SharedMemoryPeerLostException"/>. A member that survives a dead
/// runtime removes the files; the runtime decides itself what a member's death means (<see cref="MemberLost"/>).
/// </summary>
/// <remarks>
/// The parts: <see cref="ChannelFile"/> (files and mapping), <see cref="ChannelHeader"/> (format
/// fields), <see cref="SlotTable"/> (slots and the member's claim), <see cref="PeerMonitor"/> (liveness).
/// </remarks>
internal sealed unsafe class SharedMemoryChannel : IDisposable
{
    private readonly ChannelFile _file;
    private readonly SharedMemorySlot[] _slots;
    private readonly SharedMemorySlot? _own;
    private readonly PeerMonitor _monitor;
    private int _closed;
    private int _disposed;

    private SharedMemoryChannel(ChannelFile file, bool isCreator, SharedMemorySlot[] slots, SharedMemoryOptions options)
    {
        _file = file;
        IsCreator = isCreator;
        _slots = slots;
        _own = isCreator ? null : slots[0];
        _monitor = new PeerMonitor(
            file.Base, file.Path, slots, isCreator, options,
            (slot, reason, died) => MemberLost?.Invoke(slot, reason, died),
            reason => PeerLost?.Invoke(reason));
    }

    public string Path => _file.Path;

    public bool IsCreator { get; }

    /// <summary>Every slot (creator), or just the claimed one (member).</summary>
    public IReadOnlyList<SharedMemorySlot> Slots => _slots;

    /// <summary>The member's claimed slot; on the creator, slot 0 (convenient for one-session uses and tests).</summary>
    public SharedMemorySlot Slot => _own ?? _slots[0];

    public RingProducer Outbound => Slot.Outbound;

    public RingConsumer Inbound => Slot.Inbound;

    /// <summary>Liveness of <see cref="Slot"/>'s current occupancy.</summary>
    public PeerWatch Peer => Slot.Peer;

    /// <summary>The peer's pid: the member of slot 0 (creator) or the runtime (member); 0 until it announced itself.</summary>
    public int PeerPid => IsCreator ? Slot.MemberPid : SideBlock.Pid(CreatorSide);

    public int MaxMessageBytes => ChannelHeader.MaxMessageBytes(_file.Base);

    public int SlotCount => ChannelHeader.SlotCount(_file.Base);

    /// <summary>Raised once per lost peer, on the monitor thread (not when this side closes).</summary>
    public event Action<string>? PeerLost;

    /// <summary>
    /// Creator only: a slot's member closed (<c>died</c> false) or its process died or froze (true).
    /// Raised on the monitor thread, after the slot's waiters were woken.
    /// </summary>
    public event Action<SharedMemorySlot, string, bool>? MemberLost;

    private byte* CreatorSide => _file.Base + L.CreatorSideOffset;

    private byte* OwnSide => _own is null ? CreatorSide : _own.MemberSide;

    /// <summary>The path the runtime creates for a uid, without creating it.</summary>
    public static string PathFor(string uid, string? directory = null) => ChannelFile.PathFor(uid, directory);

    /// <summary>/dev/shm when present, else $XDG_RUNTIME_DIR, else the temp directory.</summary>
    public static string DefaultDirectory() => ChannelFile.DefaultDirectory();

    /// <summary>CLOCK_MONOTONIC in milliseconds: the heartbeat clock, the same in every process on the host.</summary>
    public static long MonotonicMilliseconds() => SideBlock.MonotonicMilliseconds();

    /// <summary>Creates the file (0600) and its FIFOs for <paramref name="uid"/>. A stale file whose creator is dead is replaced.</summary>
    public static SharedMemoryChannel Create(string uid, SharedMemoryOptions options)
    {
        ChannelHeader.ValidateOptions(options);
        var file = ChannelFile.Create(PathFor(uid, options.Directory), ChannelHeader.FileSize(options), options.Sessions);
        return Assemble(file, isCreator: true, options, () =>
        {
            ChannelHeader.Write(file.Base, options);
            return new SlotTable(file.Base, file.Path, isCreator: true, options.Idle).All();
        }, channel =>
        {
            SideBlock.Attach(channel.CreatorSide, Environment.ProcessId);
            ChannelHeader.MarkReady(file.Base);
        });
    }

    /// <summary>Opens a file the runtime created and claims a free session slot for this process.</summary>
    public static SharedMemoryChannel Open(string path, SharedMemoryOptions options)
    {
        var file = ChannelFile.Open(path);
        return Assemble(file, isCreator: false, options, () =>
        {
            ChannelHeader.Validate(file.Base, path, file.MappedBytes);
            return [new SlotTable(file.Base, path, isCreator: false, options.Idle).Claim(Environment.ProcessId)];
        }, beforeStart: null);
    }

    /// <summary>
    /// Builds the channel over a mapped file and starts its peer monitor. On any failure nothing is
    /// left behind: the channel (or, before it exists, the mapping) is disposed, and a creator also
    /// removes the files it made.
    /// </summary>
    private static SharedMemoryChannel Assemble(
        ChannelFile file, bool isCreator, SharedMemoryOptions options, Func<SharedMemorySlot[]> slots, Action<SharedMemoryChannel>? beforeStart)
    {
        SharedMemoryChannel? channel = null;
        try
        {
            channel = new SharedMemoryChannel(file, isCreator, slots(), options);
            beforeStart?.Invoke(channel);
            channel._monitor.Start();
            return channel;
        }
        catch
        {
            if (channel is not null)
            {
                channel.Dispose();
            }
            else
            {
                file.Dispose();
                if (isCreator)
                {
                    RemoveFiles(file.Path);
                }
            }

            throw;
        }
    }

    /// <summary>Test hook: points the peer's side block at another process (e.g. a plain `sleep`) to watch it die.</summary>
    internal void RegisterPeerForTest(int pid) => SideBlock.Attach(IsCreator ? Slot.MemberSide : CreatorSide, pid);

    /// <summary>Test hook (member side): the claimed slot names another process (e.g. a plain `sleep`) as its member, for the runtime to watch it die.</summary>
    internal void ImpersonateForTest(int pid)
    {
        Slot.ClaimPid = pid;
        SideBlock.SetPid(Slot.MemberSide, pid);
    }

    /// <summary>Test hook: the raw mapping, to inspect or damage frames.</summary>
    internal byte* BasePointer => _file.Base;

    /// <summary>
    /// Marks every slot closed by this side and wakes this side's blocked waiters, without unmapping:
    /// the owner joins its threads, then calls <see cref="Dispose"/>, so nothing touches the mapping
    /// after it is gone and the peer learns of the close only once this side stopped using the rings.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        foreach (var slot in _slots)
        {
            _ = slot.Peer.MarkLost($"The shared-memory channel '{Path}' was closed by this process.");
            slot.WakeOwnWaiters();
        }
    }

    /// <summary>Unlinks the file and its FIFOs now (the mapping and open FIFOs keep working); no new member can attach.</summary>
    public void RemoveFiles() => RemoveFiles(Path);

    /// <summary>Unlinks the file and every slot's FIFOs; missing ones are fine (the peer may have cleaned up first).</summary>
    internal static void RemoveFiles(string path) => ChannelFile.RemoveFiles(path);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Close();
        _monitor.Stop();

        // A member whose slot the runtime already took back must not mark it closed: it may be the next member's.
        if (IsCreator ? _slots.Length > 0 : _own!.HoldsClaim)
        {
            SideBlock.MarkClosed(OwnSide);
            // Wake the peer's waiters so it notices the close now rather than at its next heartbeat.
            foreach (var slot in _slots)
            {
                slot.WakePeer();
            }
        }

        foreach (var slot in _slots)
        {
            slot.Dispose();
        }

        _file.Dispose();
        if (IsCreator || _monitor.RuntimeDied)
        {
            RemoveFiles(Path);
        }

        _monitor.Dispose();
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// One mapped file holding N session slots, each with two rings and four doorbell FIFOs, plus
/// heartbeating side blocks (docs/shared-memory.md). The runtime creates it; a member opens it and
/// claims a free slot. Each side writes to its slot's <see cref="SharedMemorySlot.Outbound"/> ring and
/// reads its <see cref="SharedMemorySlot.Inbound"/> ring. A monitor thread beats this side's heartbeat
/// and judges the peers: the runtime judges each slot's member, a member judges the runtime. A lost
/// peer marks the slot's <see cref="PeerWatch"/>, blocked waiters wake and throw
/// <see cref="SharedMemoryPeerLostException"/>. A member that survives a dead runtime removes the files;
/// the runtime decides itself what a member's death means (<see cref="MemberLost"/>).
/// </summary>
internal sealed unsafe class SharedMemoryChannel : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly SharedMemoryOptions _options;
    private readonly ManualResetEventSlim _stop = new();
    private SharedMemorySlot[] _slots = [];
    private SharedMemorySlot? _own;
    private Thread? _monitor;
    private int _closed;
    private int _disposed;
    private volatile bool _runtimeDied;
    private int _claimPid;

    private SharedMemoryChannel(string path, bool isCreator, FileStream stream, SharedMemoryOptions options)
    {
        Path = path;
        IsCreator = isCreator;
        _options = options;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    public string Path { get; }

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
    public int PeerPid => IsCreator ? Slot.MemberPid : Volatile.Read(ref *(int*)(_base + L.CreatorSideOffset + L.SidePidOffset));

    public int MaxMessageBytes => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_base + L.MaxMessageOffset, 4));

    public int SlotCount => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_base + L.SlotCountOffset, 4));

    /// <summary>Raised once per lost peer, on the monitor thread (not when this side closes).</summary>
    public event Action<string>? PeerLost;

    /// <summary>
    /// Creator only: a slot's member closed (<c>died</c> false) or its process died or froze (true).
    /// Raised on the monitor thread, after the slot's waiters were woken.
    /// </summary>
    public event Action<SharedMemorySlot, string, bool>? MemberLost;

    /// <summary>The path the runtime creates for a uid, without creating it.</summary>
    public static string PathFor(string uid, string? directory = null)
    {
        if (uid.Length is 0 or > 64 || !uid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException(
                $"UserCode:Uid '{uid}' cannot name a shared-memory file: use 1 to 64 characters from A-Z, a-z, 0-9, '-', '_' and '.'.", nameof(uid));
        }

        return System.IO.Path.Combine(directory ?? DefaultDirectory(), "jex-" + uid);
    }

    /// <summary>/dev/shm when present, else $XDG_RUNTIME_DIR, else the temp directory.</summary>
    public static string DefaultDirectory()
    {
        if (System.IO.Directory.Exists("/dev/shm"))
        {
            return "/dev/shm";
        }

        var runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtimeDir) && System.IO.Directory.Exists(runtimeDir) ? runtimeDir : System.IO.Path.GetTempPath();
    }

    /// <summary>Creates the file (0600) and its FIFOs for <paramref name="uid"/>. A stale file whose creator is dead is replaced.</summary>
    public static SharedMemoryChannel Create(string uid, SharedMemoryOptions options)
    {
        ValidateCapacity(options.MemberToRuntimeCapacity, nameof(options.MemberToRuntimeCapacity));
        ValidateCapacity(options.RuntimeToMemberCapacity, nameof(options.RuntimeToMemberCapacity));
        if (options.MaxMessageBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxMessageBytes, "MaxMessageBytes must be positive.");
        }

        if (options.Sessions is < 1 or > L.MaxSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Sessions, $"Sessions must be from 1 to {L.MaxSlots}.");
        }

        var path = PathFor(uid, options.Directory);
        RemoveStale(path);
        var size = L.FileSize(options.MemberToRuntimeCapacity, options.RuntimeToMemberCapacity, options.Sessions);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, fileOptions);
        SharedMemoryChannel? channel = null;
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                // The umask may have narrowed the create mode; it must be exactly owner read/write.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.SetLength(size);
            for (var slot = 0; slot < options.Sessions; slot++)
            {
                for (var ring = 0; ring < 2; ring++)
                {
                    Doorbell.Create(L.DataFifo(path, slot, ring));
                    Doorbell.Create(L.SpaceFifo(path, slot, ring));
                }
            }

            channel = new SharedMemoryChannel(path, isCreator: true, stream, options);
            var header = new Span<byte>(channel._base, L.HeaderSize);
            L.Magic.CopyTo(header);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.VersionOffset..], L.LayoutVersion);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.HeaderSizeOffset..], L.HeaderSize);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.Ring0CapacityOffset..], options.MemberToRuntimeCapacity);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.Ring1CapacityOffset..], options.RuntimeToMemberCapacity);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.MaxMessageOffset..], options.MaxMessageBytes);
            BinaryPrimitives.WriteInt64LittleEndian(header[L.FileSizeOffset..], size);
            BinaryPrimitives.WriteInt32LittleEndian(header[L.SlotCountOffset..], options.Sessions);
            BinaryPrimitives.WriteInt64LittleEndian(header[L.SlotSizeOffset..], L.SlotSize(options.MemberToRuntimeCapacity, options.RuntimeToMemberCapacity));
            channel._slots = [.. Enumerable.Range(0, options.Sessions).Select(channel.NewSlot)];
            Announce(channel._base + L.CreatorSideOffset);
            Volatile.Write(ref *(int*)(channel._base + L.StateOffset), L.StateReady);
            channel.StartMonitor();
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
                stream.Dispose();
                RemoveFiles(path);
            }

            throw;
        }
    }

    /// <summary>Opens a file the runtime created and claims a free session slot for this process.</summary>
    public static SharedMemoryChannel Open(string path, SharedMemoryOptions options)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot open the shared-memory file '{path}': {e.Message}", e);
        }

        if (stream.Length < L.HeaderSize)
        {
            stream.Dispose();
            throw new SharedMemoryFormatException($"'{path}' is {stream.Length} bytes, smaller than the {L.HeaderSize}-byte Jex header.");
        }

        var channel = new SharedMemoryChannel(path, isCreator: false, stream, options);
        try
        {
            channel.ValidateHeader();
            var pid = Environment.ProcessId;
            var slots = channel.SlotCount;
            var holders = new List<int>();
            for (var k = 0; k < slots && channel._own is null; k++)
            {
                var slotBase = channel.SlotBase(k);
                var previous = Interlocked.CompareExchange(ref *(int*)(slotBase + L.SlotMemberSideOffset + L.SidePidOffset), pid, 0);
                if (previous == 0)
                {
                    // Claimed: announce before anything else so the runtime's monitor never sees a stale heartbeat.
                    Announce(slotBase + L.SlotMemberSideOffset);
                    channel._claimPid = pid;
                    channel._own = channel.NewSlot(k);
                    channel._slots = [channel._own];
                }
                else
                {
                    holders.Add(previous);
                }
            }

            if (channel._own is null)
            {
                throw new IOException(
                    $"All {slots} session slot(s) of the shared-memory file '{path}' are taken (member pid {string.Join(", pid ", holders)}); start the runtime with more UserCode:SharedMemory:Sessions.");
            }

            channel.StartMonitor();
            return channel;
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    /// <summary>CLOCK_MONOTONIC in milliseconds: the heartbeat clock, the same in every process on the host.</summary>
    public static long MonotonicMilliseconds() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1000);

    /// <summary>Test hook: points the peer's side block at another process (e.g. a plain `sleep`) to watch it die.</summary>
    internal void RegisterPeerForTest(int pid)
    {
        var side = IsCreator ? Slot.MemberSide : _base + L.CreatorSideOffset;
        Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), MonotonicMilliseconds());
        Volatile.Write(ref *(int*)(side + L.SidePidOffset), pid);
        Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateAttached);
    }

    /// <summary>Test hook (member side): the claimed slot names another process (e.g. a plain `sleep`) as its member, for the runtime to watch it die.</summary>
    internal void ImpersonateForTest(int pid)
    {
        _claimPid = pid;
        Volatile.Write(ref *(int*)(Slot.MemberSide + L.SidePidOffset), pid);
    }

    /// <summary>Test hook: the raw mapping, to inspect or damage frames.</summary>
    internal byte* BasePointer => _base;

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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Close();
        _stop.Set();
        if (_monitor is not null && _monitor.IsAlive && Thread.CurrentThread != _monitor)
        {
            _monitor.Join();
        }

        // A member whose slot the runtime already took back must not mark it closed: it may be the next member's.
        if (IsCreator ? _slots.Length > 0 : _own is not null && _own.MemberPid == _claimPid)
        {
            var own = IsCreator ? _base + L.CreatorSideOffset : _own!.MemberSide;
            Volatile.Write(ref *(int*)(own + L.SideStateOffset), L.SideStateClosed);
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

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        if (IsCreator || _runtimeDied)
        {
            RemoveFiles(Path);
        }

        _stop.Dispose();
    }

    private byte* SlotBase(int slot) =>
        _base + L.SlotOffset(slot, *(int*)(_base + L.Ring0CapacityOffset), *(int*)(_base + L.Ring1CapacityOffset));

    private SharedMemorySlot NewSlot(int index) => new(
        index, SlotBase(index), IsCreator, Path,
        *(int*)(_base + L.Ring0CapacityOffset), *(int*)(_base + L.Ring1CapacityOffset), MaxMessageBytes, _options.Idle);

    private void ValidateHeader()
    {
        var header = new ReadOnlySpan<byte>(_base, L.HeaderSize);
        if (!header[..8].SequenceEqual(L.Magic))
        {
            throw new SharedMemoryFormatException($"'{Path}' is not a Jex shared-memory file (bad magic).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[L.VersionOffset..]);
        if (version != L.LayoutVersion)
        {
            throw new SharedMemoryFormatException($"'{Path}' has layout version {version}; this side speaks version {L.LayoutVersion}.");
        }

        if (Volatile.Read(ref *(int*)(_base + L.StateOffset)) != L.StateReady)
        {
            throw new SharedMemoryFormatException($"'{Path}' is not ready: its creator has not finished initialising it.");
        }

        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(header[L.HeaderSizeOffset..]);
        var ring0 = BinaryPrimitives.ReadInt32LittleEndian(header[L.Ring0CapacityOffset..]);
        var ring1 = BinaryPrimitives.ReadInt32LittleEndian(header[L.Ring1CapacityOffset..]);
        var fileSize = BinaryPrimitives.ReadInt64LittleEndian(header[L.FileSizeOffset..]);
        var slots = BinaryPrimitives.ReadInt32LittleEndian(header[L.SlotCountOffset..]);
        var slotSize = BinaryPrimitives.ReadInt64LittleEndian(header[L.SlotSizeOffset..]);
        if (headerSize != L.HeaderSize || !IsValidCapacity(ring0) || !IsValidCapacity(ring1) || slots is < 1 or > L.MaxSlots
            || slotSize != L.SlotSize(ring0, ring1) || fileSize != L.FileSize(ring0, ring1, slots) || _view.Capacity < fileSize)
        {
            throw new SharedMemoryFormatException(
                $"'{Path}' has an inconsistent header: header size {headerSize}, capacities {ring0}/{ring1}, {slots} slot(s) of {slotSize} bytes, file size {fileSize} (mapped {_view.Capacity}).");
        }
    }

    private static void Announce(byte* side)
    {
        Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), MonotonicMilliseconds());
        Volatile.Write(ref *(int*)(side + L.SidePidOffset), Environment.ProcessId);
        Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateAttached);
    }

    private void StartMonitor()
    {
        _monitor = new Thread(Monitor) { IsBackground = true, Name = "jex-shm-monitor" };
        _monitor.Start();
    }

    private void Monitor()
    {
        var interval = _options.HeartbeatInterval;
        var own = IsCreator ? _base + L.CreatorSideOffset : _own!.MemberSide;
        // The kernel wait, not ManualResetEventSlim.Wait: that spins before each sleep, which at 10 wake-ups a second is most of the runtime's CPU at rest.
        var stop = _stop.WaitHandle;
        while (!stop.WaitOne(interval))
        {
            var now = MonotonicMilliseconds();
            Volatile.Write(ref *(long*)(own + L.SideHeartbeatOffset), now);
            if (IsCreator)
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

                    MemberLost?.Invoke(slot, reason, died);
                    PeerLost?.Invoke(reason);
                }
            }
            else if (!_own!.Peer.IsLost && JudgeOwnClaim() is { } taken)
            {
                // The runtime took the slot back (after this side broke the ring's rules): stop using it.
                if (_own.Peer.MarkLost(taken))
                {
                    _own.WakeOwnWaiters();
                    PeerLost?.Invoke(taken);
                }
            }
            else if (!_own!.Peer.IsLost && Judge(_base + L.CreatorSideOffset, now, out var died) is { } reason)
            {
                if (died)
                {
                    // The survivor cleans up (the runtime cannot any more), before the waiters hear of it,
                    // so whoever reports the loss also finds the files gone.
                    _runtimeDied = true;
                    RemoveFiles(Path);
                }

                if (_own.Peer.MarkLost(reason))
                {
                    _own.WakeOwnWaiters();
                    PeerLost?.Invoke(reason);
                }
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
        if (pid == 0 || Volatile.Read(ref *(int*)(slot.MemberSide + L.SideStateOffset)) != L.SideStateEmpty)
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
            return $"The shared-memory peer (pid {pid}) claimed slot {slot.Index} of '{Path}' but has not attached for {now - slot.ClaimSeenAt} ms.";
        }

        return null;
    }

    /// <summary>Member side: why this process no longer holds its slot (the claim word names another pid), or null.</summary>
    private string? JudgeOwnClaim()
    {
        var holder = _own!.MemberPid;
        return holder == _claimPid
            ? null
            : $"The runtime took back slot {_own.Index} of '{Path}' (its claim word now holds pid {holder}, not {_claimPid}).";
    }

    /// <summary>Why the side block's owner is lost (closed, exited, frozen), or null while it lives.</summary>
    private string? Judge(byte* side, long now, out bool died)
    {
        died = false;
        var pid = Volatile.Read(ref *(int*)(side + L.SidePidOffset));
        if (pid == 0)
        {
            return null;
        }

        var state = Volatile.Read(ref *(int*)(side + L.SideStateOffset));
        var beat = Volatile.Read(ref *(long*)(side + L.SideHeartbeatOffset));
        if (state == L.SideStateClosed)
        {
            return $"The shared-memory peer (pid {pid}) closed the channel '{Path}'.";
        }

        died = true;
        if (!LibC.IsProcessAlive(pid))
        {
            return $"The shared-memory peer (pid {pid}) of '{Path}' exited.";
        }

        // A member between its claim and its first heartbeat (state still empty) is judged by its process only.
        if (state == L.SideStateAttached && now - beat > (long)_options.HeartbeatTimeout.TotalMilliseconds)
        {
            return $"The shared-memory peer (pid {pid}) of '{Path}' has not updated its heartbeat for {now - beat} ms.";
        }

        died = false;
        return null;
    }

    private static void ValidateCapacity(int capacity, string name)
    {
        if (!IsValidCapacity(capacity))
        {
            throw new ArgumentOutOfRangeException(name, capacity, $"{name} must be a power of two from {L.MinCapacity} to {L.MaxCapacity} bytes.");
        }
    }

    private static bool IsValidCapacity(int capacity) => capacity is >= L.MinCapacity and <= L.MaxCapacity && (capacity & (capacity - 1)) == 0;

    /// <summary>A file left by a creator that died is replaced; one whose creator lives is refused.</summary>
    private static void RemoveStale(string path)
    {
        if (!File.Exists(path))
        {
            RemoveFiles(path);
            return;
        }

        var pid = 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Span<byte> side = stackalloc byte[4];
            stream.Position = L.CreatorSideOffset + L.SidePidOffset;
            if (stream.Read(side) == 4)
            {
                pid = BinaryPrimitives.ReadInt32LittleEndian(side);
            }
        }
        catch (IOException)
        {
        }

        if (pid > 0 && pid != Environment.ProcessId && LibC.IsProcessAlive(pid))
        {
            throw new IOException($"The shared-memory file '{path}' is in use by a live runtime (pid {pid}); choose another UserCode:Uid.");
        }

        RemoveFiles(path);
    }

    /// <summary>Unlinks the file and every slot's FIFOs; missing ones are fine (the peer may have cleaned up first).</summary>
    internal static void RemoveFiles(string path)
    {
        var files = new List<string> { path };
        var dir = System.IO.Path.GetDirectoryName(path);
        var prefix = System.IO.Path.GetFileName(path) + ".";
        if (dir is not null && System.IO.Directory.Exists(dir))
        {
            // Only "<name>.<slot>.r<ring>-data|space": a uid may contain dots, so "jex-a.*" alone could match "jex-a.b".
            foreach (var file in System.IO.Directory.EnumerateFiles(dir, prefix + "*"))
            {
                var name = System.IO.Path.GetFileName(file);
                if (name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && IsFifoName(name.AsSpan(prefix.Length)))
                {
                    files.Add(file);
                }
            }
        }

        foreach (var file in files)
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsFifoName(ReadOnlySpan<char> rest)
    {
        var dot = rest.IndexOf('.');
        if (dot <= 0 || !int.TryParse(rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        return rest[(dot + 1)..] is "r0-data" or "r0-space" or "r1-data" or "r1-space";
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// One mapped file with two rings, four doorbell FIFOs and two heartbeating side blocks
/// (docs/shared-memory.md). The runtime creates it; the member opens it. Each side writes to its
/// <see cref="Outbound"/> ring and reads its <see cref="Inbound"/> ring. A monitor thread beats this
/// side's heartbeat and declares the peer lost when its process is gone, it closed, or its heartbeat
/// went stale; blocked waiters then wake and throw <see cref="SharedMemoryPeerLostException"/>, and
/// the survivor removes the files.
/// </summary>
internal sealed unsafe class SharedMemoryChannel : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private Doorbell[] _bells = [];
    private Doorbell? _inboundDataBell;
    private Doorbell? _inboundSpaceBell;
    private Doorbell? _outboundDataBell;
    private Doorbell? _outboundSpaceBell;
    private readonly SharedMemoryOptions _options;
    private readonly int _ownSide;
    private readonly int _peerSide;
    private readonly ManualResetEventSlim _stop = new();
    private Thread? _monitor;
    private int _disposed;
    private volatile bool _peerLost;

    private SharedMemoryChannel(string path, bool isCreator, FileStream stream, SharedMemoryOptions options)
    {
        Path = path;
        IsCreator = isCreator;
        _options = options;
        _ownSide = isCreator ? L.CreatorSideOffset : L.AttacherSideOffset;
        _peerSide = isCreator ? L.AttacherSideOffset : L.CreatorSideOffset;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    public string Path { get; }

    public bool IsCreator { get; }

    public RingProducer Outbound { get; private set; } = null!;

    public RingConsumer Inbound { get; private set; } = null!;

    /// <summary>Set once the peer is lost or this side closed; waiters throw with its reason.</summary>
    public PeerWatch Peer { get; } = new();

    /// <summary>The peer's pid, 0 until a member attaches.</summary>
    public int PeerPid => Volatile.Read(ref *(int*)(_base + _peerSide + L.SidePidOffset));

    public int MaxMessageBytes => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_base + L.MaxMessageOffset, 4));

    /// <summary>Raised once, on the monitor thread, when the peer is lost (not when this side closes).</summary>
    public event Action<string>? PeerLost;

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

        var path = PathFor(uid, options.Directory);
        RemoveStale(path);
        var size = L.FileSize(options.MemberToRuntimeCapacity, options.RuntimeToMemberCapacity);
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
            for (var ring = 0; ring < 2; ring++)
            {
                Doorbell.Create(L.DataFifo(path, ring));
                Doorbell.Create(L.SpaceFifo(path, ring));
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
            channel.AnnounceSelf();
            Volatile.Write(ref *(int*)(channel._base + L.StateOffset), L.StateReady);
            channel.Start();
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

    /// <summary>Opens a file the runtime created and attaches this process as the member side.</summary>
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
            var slot = (int*)(channel._base + L.AttacherSideOffset + L.SidePidOffset);
            var previous = Interlocked.CompareExchange(ref *slot, pid, 0);
            if (previous != 0)
            {
                throw new IOException($"The shared-memory file '{path}' already has a member attached (pid {previous}).");
            }

            channel.AnnounceSelf();
            channel.Start();
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

    /// <summary>Test hook: claims the member slot for another process (e.g. a plain `sleep`) to watch it die.</summary>
    internal void RegisterPeerForTest(int pid)
    {
        var side = _base + _peerSide;
        Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), MonotonicMilliseconds());
        Volatile.Write(ref *(int*)(side + L.SidePidOffset), pid);
        Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateAttached);
    }

    /// <summary>Test hook: the raw mapping, to inspect or damage frames.</summary>
    internal byte* BasePointer => _base;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_monitor is not null)
        {
            Volatile.Write(ref *(int*)(_base + _ownSide + L.SideStateOffset), L.SideStateClosed);
            // Wake the peer's waiters so it notices the close now rather than at its next heartbeat.
            _outboundDataBell?.Ring();
            _inboundSpaceBell?.Ring();
        }

        _ = Peer.MarkLost($"The shared-memory channel '{Path}' was closed by this process.");
        WakeOwnWaiters();
        _stop.Set();
        if (_monitor is not null && _monitor.IsAlive && Thread.CurrentThread != _monitor)
        {
            _monitor.Join();
        }

        foreach (var bell in _bells)
        {
            bell.Dispose();
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        if (IsCreator || _peerLost)
        {
            RemoveFiles(Path);
        }

        _stop.Dispose();
    }

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
        if (headerSize != L.HeaderSize || !IsValidCapacity(ring0) || !IsValidCapacity(ring1)
            || fileSize != L.FileSize(ring0, ring1) || _view.Capacity < fileSize)
        {
            throw new SharedMemoryFormatException(
                $"'{Path}' has an inconsistent header: header size {headerSize}, capacities {ring0}/{ring1}, file size {fileSize} (mapped {_view.Capacity}).");
        }
    }

    private void AnnounceSelf()
    {
        var side = _base + _ownSide;
        Volatile.Write(ref *(long*)(side + L.SideHeartbeatOffset), MonotonicMilliseconds());
        Volatile.Write(ref *(int*)(side + L.SidePidOffset), Environment.ProcessId);
        Volatile.Write(ref *(int*)(side + L.SideStateOffset), L.SideStateAttached);
    }

    /// <summary>Second phase, once the header is valid: doorbells, rings and the monitor thread.</summary>
    private void Start()
    {
        var inRing = IsCreator ? 0 : 1;
        var outRing = 1 - inRing;
        _bells = new Doorbell[4];
        _bells[0] = _inboundDataBell = new Doorbell(L.DataFifo(Path, inRing));
        _bells[1] = _inboundSpaceBell = new Doorbell(L.SpaceFifo(Path, inRing));
        _bells[2] = _outboundDataBell = new Doorbell(L.DataFifo(Path, outRing));
        _bells[3] = _outboundSpaceBell = new Doorbell(L.SpaceFifo(Path, outRing));

        var ring0 = *(int*)(_base + L.Ring0CapacityOffset);
        var ring1 = *(int*)(_base + L.Ring1CapacityOffset);
        var data0 = _base + L.DataOffset;
        var data1 = data0 + ring0;
        var maxMessage = MaxMessageBytes;
        var control0 = _base + L.Ring0ControlOffset;
        var control1 = _base + L.Ring1ControlOffset;
        var name0 = $"member-to-runtime ({Path})";
        var name1 = $"runtime-to-member ({Path})";
        if (IsCreator)
        {
            Inbound = new RingConsumer(name0, data0, control0, ring0, maxMessage, _inboundDataBell, _inboundSpaceBell, Peer, _options.Idle);
            Outbound = new RingProducer(name1, data1, control1, ring1, maxMessage, _outboundDataBell, _outboundSpaceBell, Peer, _options.Idle);
        }
        else
        {
            Inbound = new RingConsumer(name1, data1, control1, ring1, maxMessage, _inboundDataBell, _inboundSpaceBell, Peer, _options.Idle);
            Outbound = new RingProducer(name0, data0, control0, ring0, maxMessage, _outboundDataBell, _outboundSpaceBell, Peer, _options.Idle);
        }

        _monitor = new Thread(Monitor) { IsBackground = true, Name = "jex-shm-monitor" };
        _monitor.Start();
    }

    private void Monitor()
    {
        var interval = _options.HeartbeatInterval;
        var timeoutMs = (long)_options.HeartbeatTimeout.TotalMilliseconds;
        var own = _base + _ownSide;
        var peer = _base + _peerSide;
        while (!_stop.Wait(interval))
        {
            var now = MonotonicMilliseconds();
            Volatile.Write(ref *(long*)(own + L.SideHeartbeatOffset), now);
            if (Peer.IsLost)
            {
                continue;
            }

            var pid = Volatile.Read(ref *(int*)(peer + L.SidePidOffset));
            if (pid == 0)
            {
                continue;
            }

            var state = Volatile.Read(ref *(int*)(peer + L.SideStateOffset));
            var beat = Volatile.Read(ref *(long*)(peer + L.SideHeartbeatOffset));
            string? reason = null;
            if (state == L.SideStateClosed)
            {
                reason = $"The shared-memory peer (pid {pid}) closed the channel '{Path}'.";
            }
            else if (!IsProcessAlive(pid))
            {
                reason = $"The shared-memory peer (pid {pid}) of '{Path}' exited.";
            }
            else if (now - beat > timeoutMs)
            {
                reason = $"The shared-memory peer (pid {pid}) of '{Path}' has not updated its heartbeat for {now - beat} ms.";
            }

            if (reason is not null && Peer.MarkLost(reason))
            {
                _peerLost = true;
                WakeOwnWaiters();
                // The survivor cleans up: the peer cannot any more.
                RemoveFiles(Path);
                PeerLost?.Invoke(reason);
            }
        }
    }

    private void WakeOwnWaiters()
    {
        _inboundDataBell?.Ring();
        _outboundSpaceBell?.Ring();
    }

    /// <summary>kill(pid, 0) plus a zombie check: an unreaped child still answers kill but is dead.</summary>
    internal static bool IsProcessAlive(int pid)
    {
        if (LibC.Kill(pid, 0) != 0)
        {
            return Marshal.GetLastPInvokeError() == LibC.EPerm;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var end = stat.LastIndexOf(')');
            return end < 0 || end + 2 >= stat.Length || stat[end + 2] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
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

        if (pid > 0 && pid != Environment.ProcessId && IsProcessAlive(pid))
        {
            throw new IOException($"The shared-memory file '{path}' is in use by a live runtime (pid {pid}); choose another UserCode:Uid.");
        }

        RemoveFiles(path);
    }

    /// <summary>Unlinks the file and its FIFOs; missing ones are fine (the peer may have cleaned up first).</summary>
    internal static void RemoveFiles(string path)
    {
        foreach (var file in (ReadOnlySpan<string>)[path, L.DataFifo(path, 0), L.SpaceFifo(path, 0), L.DataFifo(path, 1), L.SpaceFifo(path, 1)])
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
}

using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// The files of one channel: the mapped file (named from a uid, owner-only) and its per-slot FIFOs.
/// Creates them (replacing a stale set whose runtime is dead), opens an existing one, maps it, and
/// removes them all. Knows nothing of what the bytes mean: <see cref="ChannelHeader"/> does.
/// </summary>
internal sealed unsafe class ChannelFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;

    private ChannelFile(string path, FileStream stream)
    {
        Path = path;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        Base = pointer + _view.PointerOffset;
    }

    public string Path { get; }

    /// <summary>The first byte of the mapping; valid until <see cref="Dispose"/>.</summary>
    public byte* Base { get; }

    /// <summary>Bytes mapped: at least the file's size.</summary>
    public long MappedBytes => _view.Capacity;

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

    /// <summary>
    /// Creates the file (0600, <paramref name="size"/> bytes of zeros) and the FIFOs of
    /// <paramref name="slots"/> slots, and maps it. A stale set whose creator is dead is replaced; one
    /// whose creator lives is refused. On failure nothing is left behind.
    /// </summary>
    public static ChannelFile Create(string path, long size, int slots)
    {
        RemoveStale(path);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, fileOptions);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                // The umask may have narrowed the create mode; it must be exactly owner read/write.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.SetLength(size);
            for (var slot = 0; slot < slots; slot++)
            {
                for (var ring = 0; ring < 2; ring++)
                {
                    Doorbell.Create(L.DataFifo(path, slot, ring));
                    Doorbell.Create(L.SpaceFifo(path, slot, ring));
                }
            }

            return new ChannelFile(path, stream);
        }
        catch
        {
            stream.Dispose();
            RemoveFiles(path);
            throw;
        }
    }

    /// <summary>Maps a file the runtime created; checks only that it can hold a header.</summary>
    public static ChannelFile Open(string path)
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

        try
        {
            return new ChannelFile(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps; the files stay (see <see cref="RemoveFiles"/>).</summary>
    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

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
    public static void RemoveFiles(string path)
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

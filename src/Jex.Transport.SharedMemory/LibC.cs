using System.Runtime.InteropServices;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// The one declaration of the Linux calls Jex needs that the BCL does not expose: FIFOs (the doorbells),
/// poll for a bounded wait, kill for signals and liveness, _exit, umask and file ownership. Every Jex
/// process (runtime, member, CLI) loads this assembly, so this is where they live. Constants are the
/// Linux x64/arm64 values.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int ORdOnly = 0x0;
    public const int ORdWr = 0x2;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const short PollIn = 0x1;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int EPerm = 1;
    public const int ESrch = 3;
    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int EExist = 17;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Lib, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    /// <summary>open(2) with a NUL-terminated path already in native memory (no marshalling, no allocation).</summary>
    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true)]
    public static partial int OpenRaw(byte* path, int flags);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>_exit(2): leaves at once, without the runtime's exit handlers (which may be what is stuck).</summary>
    [LibraryImport(Lib, EntryPoint = "_exit")]
    public static partial void Exit(int status);

    [LibraryImport(Lib, EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    [LibraryImport(Lib, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Lib, EntryPoint = "getegid")]
    public static partial uint GetEffectiveGroupId();

    /// <summary>
    /// kill(pid, 0) plus a zombie check: an exited child its parent has not reaped still answers kill but
    /// is dead. EPERM means the process exists under another user. The shared-memory monitor calls this
    /// 10 times a second, so it reads /proc with raw calls into stack buffers: no allocation, and few
    /// methods for the JIT to keep tiering up while the process is otherwise at rest.
    /// </summary>
    public static bool IsProcessAlive(int pid)
    {
        if (Kill(pid, 0) != 0)
        {
            return Marshal.GetLastPInvokeError() == EPerm;
        }

        var path = stackalloc byte[32];
        var span = new Span<byte>(path, 32);
        "/proc/"u8.CopyTo(span);
        _ = pid.TryFormat(span[6..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
        "/stat\0"u8.CopyTo(span[(6 + digits)..]);
        var fd = OpenRaw(path, ORdOnly | OCloExec);
        if (fd < 0)
        {
            return false;
        }

        var buffer = stackalloc byte[512];
        var n = (int)Read(fd, buffer, 512);
        _ = Close(fd);

        // The state follows the command name, which is in parentheses and may itself contain ')'.
        var stat = new ReadOnlySpan<byte>(buffer, Math.Max(n, 0));
        var end = stat.LastIndexOf((byte)')');
        return end < 0 || end + 2 >= stat.Length || stat[end + 2] is not ((byte)'Z' or (byte)'X');
    }
}

using System.Runtime.InteropServices;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// A named FIFO used only to wake a blocked waiter. The waiter polls the FIFO and drains whatever
/// bytes are there; a ringer writes one byte. Both ends open it O_RDWR|O_NONBLOCK, so opening never
/// blocks (no reader/writer rendezvous), a full pipe never blocks the ringer (a pending byte already
/// wakes the waiter), and there is no SIGPIPE. A Java peer opens the same path with
/// RandomAccessFile(path, "rw") and uses blocking read()/write().
/// </summary>
internal sealed unsafe class Doorbell : IDisposable
{
    private readonly string _path;
    private int _fd;

    public Doorbell(string path)
    {
        _path = path;
        _fd = LibC.Open(path, LibC.ORdWr | LibC.ONonBlock | LibC.OCloExec);
        if (_fd < 0)
        {
            ThrowHelper.Errno("open", path);
        }
    }

    /// <summary>Creates the FIFO owner-only. An existing one is an error: names are unique per channel.</summary>
    public static void Create(string path)
    {
        if (LibC.MkFifo(path, Convert.ToUInt32("600", 8)) != 0)
        {
            ThrowHelper.Errno("mkfifo", path);
        }
    }

    public void Ring()
    {
        byte one = 1;
        while (true)
        {
            var n = LibC.Write(_fd, &one, 1);
            // EAGAIN: the pipe is full of unread wake bytes, so the waiter wakes anyway.
            if (n >= 0 || Marshal.GetLastPInvokeError() != LibC.EIntr)
            {
                return;
            }
        }
    }

    /// <summary>Blocks until rung or the timeout passes (-1: forever). Drains pending wake bytes.</summary>
    public bool Wait(int timeoutMs)
    {
        var pfd = new LibC.PollFd { Fd = _fd, Events = LibC.PollIn };
        var n = LibC.Poll(&pfd, 1, timeoutMs);
        if (n <= 0)
        {
            return false;
        }

        var buffer = stackalloc byte[64];
        while (LibC.Read(_fd, buffer, 64) == 64)
        {
        }

        return true;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = LibC.Close(fd);
        }
    }

    public override string ToString() => _path;
}

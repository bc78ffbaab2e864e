using System.Runtime.InteropServices;

namespace Jex.Member.Launch;

/// <summary>POSIX signals: .NET can kill a process but cannot send it SIGTERM.</summary>
internal static partial class NativeMethods
{
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/>; false when the process is already gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;
}

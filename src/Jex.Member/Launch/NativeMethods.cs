using System.Runtime.InteropServices;

namespace Jex.Member.Launch;

/// <summary>POSIX calls .NET lacks: sending SIGTERM, and giving a file to another user.</summary>
internal static partial class NativeMethods
{
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "getegid")]
    public static partial uint GetEffectiveGroupId();

    /// <summary>Sends <paramref name="signal"/>; false when the process is already gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>chown(2); throws <see cref="IOException"/> naming the path on failure.</summary>
    public static void ChangeOwner(string path, uint owner, uint group)
    {
        if (Chown(path, owner, group) != 0)
        {
            throw new IOException($"chown {owner}:{group} {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}

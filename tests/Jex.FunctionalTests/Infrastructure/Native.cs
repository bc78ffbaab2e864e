using System.Runtime.InteropServices;

namespace Jex.FunctionalTests.Infrastructure;

internal static partial class Native
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}

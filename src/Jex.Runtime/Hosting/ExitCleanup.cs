using System.Collections.Concurrent;

namespace Jex.Runtime.Hosting;

/// <summary>
/// File removals (socket, shared-memory files) that must happen even when the runtime exits without
/// a graceful stop. The graceful path removes the files itself; these run only on a forced exit.
/// Each action must be idempotent and must not block.
/// </summary>
internal static class ExitCleanup
{
    private static readonly ConcurrentQueue<Action> Actions = new();

    public static void Register(Action removeFiles) => Actions.Enqueue(removeFiles);

    public static void RunAll()
    {
        foreach (var action in Actions)
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the process is leaving and has nobody to report to.
            }
        }
    }
}

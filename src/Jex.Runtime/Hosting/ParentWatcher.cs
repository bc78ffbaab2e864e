using Jex.Transport.SharedMemory;
using Jex.Runtime.Configuration;
using Microsoft.Extensions.Options;
using HostLog = Jex.Runtime.Diagnostics.HostLog;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Exits the runtime when the process named by <c>UserCode:ParentPid</c> is gone, so a member that
/// dies (even by SIGKILL) never leaves an orphan runtime behind. Polls with kill(pid, 0), which
/// costs one system call, every 200 ms: well inside the 1 s the design allows.
/// </summary>
internal sealed partial class ParentWatcher : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a graceful stop may take once the parent is gone: there is nobody left to drain
    /// for, and detection (up to 250 ms) plus this must stay inside the design's 1 s on a loaded
    /// machine (600 ms was seen to end at 1.04-1.1 s).
    /// </summary>
    private static readonly TimeSpan ForcedExitAfter = TimeSpan.FromMilliseconds(400);
    private readonly int? _parentPid;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ParentWatcher> _logger;

    public ParentWatcher(IOptions<UserCodeOptions> options, IHostApplicationLifetime lifetime, ILogger<ParentWatcher> logger)
    {
        _parentPid = options.Value.ParentPid;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <summary>Set when the runtime stops because its parent died.</summary>
    public static bool ParentDied { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_parentPid is not { } pid)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (!LibC.IsProcessAlive(pid))
            {
                HostLog.ParentGone(_logger, pid);
                ParentDied = true;
                StartForcedExitBackstop(_lifetime.ApplicationStopped);
                _lifetime.StopApplication();
                return;
            }
        }
    }

    /// <summary>
    /// If the graceful stop has not finished in <see cref="ForcedExitAfter"/>, remove the runtime's
    /// files and leave with _exit(0). Environment.Exit would wait on the host's own ProcessExit
    /// handler, which waits for the very shutdown that is slow.
    /// </summary>
    internal static void StartForcedExitBackstop(CancellationToken stopped)
    {
        var thread = new Thread(() =>
        {
            if (!stopped.WaitHandle.WaitOne(ForcedExitAfter))
            {
                ExitCleanup.RunAll();
                Console.Error.Flush();
                LibC.Exit(0);
            }
        })
        {
            IsBackground = true,
            Name = "jex-parent-exit-backstop",
        };
        thread.Start();
    }
}

namespace Jex.Runtime.Hosting;

/// <summary>
/// The application lifetime for parts that start serving before the host exists (the shared-memory
/// transport announces ready before the host is even built). Its tokens follow the host's once
/// <see cref="Attach"/> is called; a stop asked for before that is passed on once the host has started.
/// </summary>
internal sealed class EarlyLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _started = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopped = new();
    private readonly Lock _gate = new();
    private IHostApplicationLifetime? _host;
    private bool _stopAsked;

    public CancellationToken ApplicationStarted => _started.Token;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => _stopped.Token;

    /// <summary>From now on the host's lifetime drives this one.</summary>
    public void Attach(IHostApplicationLifetime host)
    {
        bool stop;
        lock (_gate)
        {
            _host = host;
            stop = _stopAsked;
        }

        host.ApplicationStarted.Register(_started.Cancel);
        host.ApplicationStopping.Register(_stopping.Cancel);
        host.ApplicationStopped.Register(_stopped.Cancel);
        if (stop)
        {
            // A stop asked for before the host started (a SIGTERM right after the ready line) is
            // passed on once it has started: stopping a host that is still starting makes its start
            // throw instead of draining.
            host.ApplicationStarted.Register(host.StopApplication);
        }
    }

    public void StopApplication()
    {
        IHostApplicationLifetime? host;
        lock (_gate)
        {
            host = _host;
            _stopAsked = true;
        }

        // Stopping a host that is still starting makes its start throw instead of draining: a stop
        // asked for then waits for the host to have started (Register runs at once if it has).
        host?.ApplicationStarted.Register(host.StopApplication);
    }

    public void Dispose()
    {
        _started.Dispose();
        _stopping.Dispose();
        _stopped.Dispose();
    }
}

/// <summary>
/// A host lifetime that leaves signals to <see cref="EarlyLifetime"/>'s registrations: used when a
/// transport serves before the host exists, so a signal during the host's start is held, not fatal.
/// </summary>
internal sealed class SignalFreeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

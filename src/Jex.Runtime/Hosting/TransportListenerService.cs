namespace Jex.Runtime.Hosting;

/// <summary>
/// The hosted service that runs the configured <see cref="ITransportListener"/>. It starts the
/// listener after every other hosted service (Kestrel included) has started, so a transport never
/// announces an address nobody listens on, and stops it in the host's StopAsync, bounded by the
/// host's shutdown timeout (set to UserCode:DrainTimeoutSeconds). Hosted services stop in reverse
/// order of start and the web server starts last, so Kestrel has already stopped accepting (and
/// finished its graceful stop) when the listener drains.
/// </summary>
internal sealed class TransportListenerService(ITransportListener listener) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        StartupTrace.Mark("host started");
        return listener.StartAsync(cancellationToken);
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => listener.StopAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

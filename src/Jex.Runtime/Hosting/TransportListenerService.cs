namespace Jex.Runtime.Hosting;

/// <summary>
/// The hosted service that runs the configured <see cref="ITransportListener"/>. It starts the
/// listener after every other hosted service (Kestrel included) has started, so a transport never
/// announces an address nobody listens on, and stops it in the host's StopAsync, bounded by the
/// host's shutdown timeout (set to UserCode:DrainTimeoutSeconds). The drain runs in StoppingAsync,
/// before any hosted service's StopAsync, so Kestrel still answers grpc.health.v1 (NOT_SERVING)
/// while the sessions drain; a Transform call opened meanwhile is refused with UNAVAILABLE
/// (<see cref="Dispatch.SessionProcessor.RunAsync"/>). Kestrel's own graceful stop comes after,
/// with no session left to wait for.
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

    public Task StoppingAsync(CancellationToken cancellationToken) => listener.StopAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

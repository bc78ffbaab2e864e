using Microsoft.Extensions.Hosting;

namespace Jex.Testing.Shared;

/// <summary>
/// An <see cref="IHostApplicationLifetime"/> a test drives by hand: <see cref="StopApplication"/>
/// fires <see cref="ApplicationStopping"/> as a host's shutdown would, and nothing else happens.
/// </summary>
public sealed class TestApplicationLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _started = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopped = new();

    public CancellationToken ApplicationStarted => _started.Token;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => _stopped.Token;

    public void StopApplication() => _stopping.Cancel();

    /// <summary>Fires <see cref="ApplicationStarted"/>, for code that waits for the host to be up.</summary>
    public void NotifyStarted() => _started.Cancel();

    /// <summary>Fires <see cref="ApplicationStopped"/>, for code that cleans up after the host.</summary>
    public void NotifyStopped() => _stopped.Cancel();

    public void Dispose()
    {
        _started.Dispose();
        _stopping.Dispose();
        _stopped.Dispose();
    }
}

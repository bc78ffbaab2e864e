namespace Jex.Runtime.Hosting;

/// <summary>
/// One transport's life in the host, the same for every transport: it starts serving, and on stop
/// it takes no new session, drains the open ones and releases what it holds (sockets, files,
/// threads). <see cref="TransportListenerService"/> runs it.
/// </summary>
internal interface ITransportListener
{
    /// <summary>
    /// Called once the host has started (Kestrel listens): from here the transport accepts sessions
    /// and announces itself with the ready line. A transport that started before the host returns at once.
    /// </summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Drains: waits for the open sessions to end (the session processor sends each Drained when the
    /// runtime stops) until <paramref name="cancellationToken"/> fires at the drain timeout
    /// (UserCode:DrainTimeoutSeconds), then cuts off what is left and releases the transport's resources.
    /// </summary>
    Task StopAsync(CancellationToken cancellationToken);
}

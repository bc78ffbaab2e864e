using Jex.Protocol.Contract;

namespace Jex.Member.Transports;

/// <summary>
/// Opens a session channel to a ready runtime over one transport. The gRPC connector lives in
/// <c>Transports/Grpc</c>; the shared-memory one in <c>Transports/SharedMemory</c>.
/// </summary>
internal interface ISessionConnector
{
    /// <summary>"grpc" or "shared-memory", as in the ready line and the job's runtime.transport.</summary>
    string Transport { get; }

    /// <summary>Opens one session pipe to the runtime described by <paramref name="ready"/>.</summary>
    ValueTask<ISessionChannel> ConnectAsync(RuntimeReadyInfo ready, CancellationToken cancellationToken);
}

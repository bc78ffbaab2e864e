using Jex.Runtime.Dispatch.Wire;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Where a session's runtime messages go, already encoded. The transports implement it: the gRPC
/// adapter writes to the response stream, the shared-memory adapter to the runtime-to-member ring.
/// The dispatcher calls it from one writer at a time, so implementations need not be thread-safe,
/// and releases each message buffer after the write completes.
/// </summary>
internal interface ISessionOutput
{
    /// <summary>
    /// Writes one message. <paramref name="moreFollows"/> means the next write comes at once, so
    /// a transport may buffer this one instead of flushing it; a write with it false flushes.
    /// </summary>
    ValueTask WriteAsync(RuntimeMessageBuffer message, bool moreFollows, CancellationToken cancellationToken);
}

/// <summary>
/// The session ends with a status before or instead of serving it (wrong token, unknown function,
/// bad Init). The gRPC adapter turns it into an RpcException with the same status code; the
/// shared-memory adapter sends a SessionClosed message.
/// </summary>
internal sealed class SessionRejectedException : Exception
{
    public SessionRejectedException(Grpc.Core.StatusCode statusCode, string message) : base(message)
        => StatusCode = statusCode;

    public Grpc.Core.StatusCode StatusCode { get; }
}

using Grpc.Core;
using Jex.Protocol.V1;

namespace Jex.Member.Transports;

/// <summary>
/// One session's message pipe to a runtime, whatever carries it (gRPC stream or shared-memory
/// rings). The member's session logic (Init, batching, ordering, replay) sits on top of this and
/// never knows the transport.
/// </summary>
/// <remarks>
/// Sends are not thread-safe: one writer at a time. Reads are one consumer at a time.
/// A session the runtime ends with a status (PERMISSION_DENIED, ...) surfaces as a
/// <see cref="SessionEndedException"/> from <see cref="ReadAsync"/>.
/// </remarks>
internal interface ISessionChannel : IAsyncDisposable
{
    /// <summary>Sends one message; completes when the transport accepted it (back-pressure).</summary>
    ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken);

    /// <summary>Reads the next runtime message, or null when the runtime ended the stream cleanly.</summary>
    ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the next runtime message undecoded, or null at the end, for readers that scan results
    /// without building objects; the caller releases it. Transports that receive bytes hand them
    /// over as they are; the default encodes what <see cref="ReadAsync"/> returns.
    /// </summary>
    async ValueTask<RuntimeBytes?> ReadBytesAsync(CancellationToken cancellationToken) =>
        await ReadAsync(cancellationToken).ConfigureAwait(false) is { } message ? RuntimeBytes.From(message) : null;

    /// <summary>Tells the runtime the member will send nothing more (half-close).</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The runtime ended the session with a status, or the transport failed underneath it.
/// </summary>
internal sealed class SessionEndedException : Exception
{
    public SessionEndedException(StatusCode statusCode, string message, Exception? inner = null)
        : base(message, inner) => StatusCode = statusCode;

    /// <summary>Why the session ended; <see cref="StatusCode.Unavailable"/> for a dead peer.</summary>
    public StatusCode StatusCode { get; }
}

/// <summary>
/// The runtime stopped serving without being asked (an unsolicited Drained, or the stream ended)
/// while the job still had work: the driver restarts it and replays what has no result.
/// </summary>
internal sealed class RuntimeStoppedException : Exception
{
    public RuntimeStoppedException(string message) : base(message) { }
}

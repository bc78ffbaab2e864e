using Grpc.Core;
using Jex.Member.Transports;
using Jex.Protocol.V1;

namespace Jex.Member.Sessions;

/// <summary>Init, then wait for Ready: the start of every session.</summary>
internal static class SessionHandshake
{
    /// <summary>gRPC status codes that no restart can fix: the job is wrong, not the runtime.</summary>
    public static bool IsPermanent(StatusCode statusCode) =>
        statusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.PermissionDenied
            or StatusCode.FailedPrecondition or StatusCode.Unimplemented;

    /// <summary>
    /// Sends Init and returns the runtime's Ready. Log messages that arrive first go to
    /// <paramref name="onLog"/>.
    /// </summary>
    /// <exception cref="SessionEndedException">The runtime refused the session (its status and message) or the transport failed.</exception>
    /// <exception cref="JobFailedException">The runtime answered with something other than Ready.</exception>
    public static async Task<Ready> OpenAsync(
        ISessionChannel channel,
        SessionSettings settings,
        string token,
        Action<Protocol.V1.Log>? onLog,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await channel.SendAsync(new MemberMessage { Init = settings.ToInit(token) }, cts.Token).ConfigureAwait(false);
            while (true)
            {
                var message = await channel.ReadAsync(cts.Token).ConfigureAwait(false)
                    ?? throw new SessionEndedException(StatusCode.Unavailable, "the runtime ended the session before Ready");
                switch (message.KindCase)
                {
                    case RuntimeMessage.KindOneofCase.Ready:
                        return message.Ready;
                    case RuntimeMessage.KindOneofCase.Log:
                        onLog?.Invoke(message.Log);
                        break;
                    case RuntimeMessage.KindOneofCase.Closed:
                        throw new SessionEndedException((StatusCode)message.Closed.Code, message.Closed.Message);
                    case RuntimeMessage.KindOneofCase.Error:
                        throw new JobFailedException($"the runtime refused Init: {message.Error.Code}: {message.Error.Message}");
                    default:
                        throw new JobFailedException($"the runtime sent {message.KindCase} before Ready");
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the runtime sent no Ready within {timeout.TotalSeconds:0.#} s of Init");
        }
    }
}

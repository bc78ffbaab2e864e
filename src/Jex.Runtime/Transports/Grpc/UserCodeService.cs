using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// The gRPC face of the session processor: one Transform call is one session. It only adapts
/// streams; the protocol lives in <see cref="SessionProcessor"/>.
/// </summary>
internal sealed class UserCodeService : Protocol.V1.UserCode.UserCodeBase
{
    private readonly SessionProcessor _processor;

    public UserCodeService(SessionProcessor processor) => _processor = processor;

    public override async Task Transform(
        IAsyncStreamReader<MemberMessage> requestStream,
        IServerStreamWriter<RuntimeMessage> responseStream,
        ServerCallContext context)
    {
        try
        {
            await _processor.RunAsync(requestStream.ReadAllAsync(context.CancellationToken), new StreamOutput(responseStream), context.CancellationToken)
                .ConfigureAwait(false);
        }
        catch (SessionRejectedException e)
        {
            throw new RpcException(new Status(e.StatusCode, e.Message));
        }
    }

    private sealed class StreamOutput(IServerStreamWriter<RuntimeMessage> stream) : ISessionOutput
    {
        // grpc-dotnet flushes every streamed message unless BufferHint is set.
        private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
        private static readonly WriteOptions Flushed = new();

        public ValueTask WriteAsync(RuntimeMessage message, CancellationToken cancellationToken) =>
            WriteAsync(message, moreFollows: false, cancellationToken);

        public ValueTask WriteAsync(RuntimeMessage message, bool moreFollows, CancellationToken cancellationToken)
        {
            stream.WriteOptions = moreFollows ? Buffered : Flushed;
            return new(stream.WriteAsync(message, cancellationToken));
        }
    }
}

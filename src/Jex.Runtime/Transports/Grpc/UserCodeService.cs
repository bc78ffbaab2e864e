using Grpc.Core;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// The gRPC face of the session processor: one Transform call is one session. It only adapts
/// streams; the protocol lives in <see cref="SessionProcessor"/>.
/// </summary>
/// <remarks>
/// The service is bound by hand instead of through the generated base class, with marshallers
/// that move bytes: requests arrive as <see cref="MemberFrame"/>s (one copy into a pooled buffer,
/// read in place by the dispatcher) and responses leave as already-encoded
/// <see cref="RuntimeFrame"/>s. The wire format is the generated one's, byte for byte: service
/// <c>jex.v1.UserCode</c>, method <c>Transform</c>, protobuf messages.
/// </remarks>
internal sealed class UserCodeService : UserCodeServiceBinding
{
    private readonly SessionProcessor _processor;

    public UserCodeService(SessionProcessor processor) => _processor = processor;

    public override async Task Transform(
        IAsyncStreamReader<MemberFrame> requestStream,
        IServerStreamWriter<RuntimeFrame> responseStream,
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

    private sealed class StreamOutput(IServerStreamWriter<RuntimeFrame> stream) : ISessionOutput
    {
        // grpc-dotnet flushes every streamed message unless BufferHint is set.
        private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
        private static readonly WriteOptions Flushed = new();

        public ValueTask WriteAsync(RuntimeFrame frame, bool moreFollows, CancellationToken cancellationToken)
        {
            stream.WriteOptions = moreFollows ? Buffered : Flushed;
            return new(stream.WriteAsync(frame, cancellationToken));
        }
    }
}

/// <summary>
/// What the generated base class would be: grpc-dotnet finds the binding method through the
/// attribute and then calls the override of the virtual method named like the gRPC method.
/// </summary>
[BindServiceMethod(typeof(UserCodeServiceBinding), nameof(BindService))]
internal abstract class UserCodeServiceBinding
{
    private static readonly Marshaller<MemberFrame> Requests = new(
        static (_, _) => throw new NotSupportedException("the runtime never sends a MemberMessage"),
        static context => MemberFrame.Copy(context.PayloadAsReadOnlySequence()));

    private static readonly Marshaller<RuntimeFrame> Responses = new(
        static (frame, context) =>
        {
            var bytes = frame.Span;
            context.SetPayloadLength(bytes.Length);
            var writer = context.GetBufferWriter();
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
            context.Complete();
        },
        static _ => throw new NotSupportedException("the runtime never reads a RuntimeMessage"));

    /// <summary>The method as the proto declares it (protos/jex/v1/usercode.proto).</summary>
    internal static readonly Method<MemberFrame, RuntimeFrame> TransformMethod = new(
        MethodType.DuplexStreaming, "jex.v1.UserCode", "Transform", Requests, Responses);

    /// <summary>Called by grpc-dotnet when the service is mapped.</summary>
    public static void BindService(ServiceBinderBase binder, UserCodeServiceBinding? service) =>
        binder.AddMethod(TransformMethod, service is null ? null : service.Transform);

    public abstract Task Transform(
        IAsyncStreamReader<MemberFrame> requestStream,
        IServerStreamWriter<RuntimeFrame> responseStream,
        ServerCallContext context);
}

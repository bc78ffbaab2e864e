using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Protocol.V1;

namespace Jex.Member.Transports.Grpc;

/// <summary>
/// One Transform call: the request stream carries member messages, the response stream runtime ones.
/// Responses are taken as bytes (<see cref="RuntimeBytes"/>), so a reader can scan results without
/// decoding them into objects; <see cref="ReadAsync"/> decodes.
/// </summary>
internal sealed class GrpcSessionChannel : ISessionChannel
{
    /// <summary>jex.v1.UserCode/Transform as generated, but with responses left as bytes.</summary>
    internal static readonly Method<MemberMessage, RuntimeBytes> TransformMethod = new(
        MethodType.DuplexStreaming,
        "jex.v1.UserCode",
        "Transform",
        new Marshaller<MemberMessage>(
            static (message, context) =>
            {
                if (message.KindCase == MemberMessage.KindOneofCase.Batch)
                {
                    WriteBatch(message.Batch, context);
                    return;
                }

                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            static context => MemberMessage.Parser.ParseFrom(context.PayloadAsReadOnlySequence())),
        new Marshaller<RuntimeBytes>(
            static (bytes, context) => context.Complete(bytes.Span.ToArray()),
            static context => RuntimeBytes.Copy(context.PayloadAsReadOnlySequence())));

    /// <summary>A batch, nearly all of the member's traffic, goes through the hand-written encoder the shared-memory channel uses.</summary>
    private static void WriteBatch(Batch batch, SerializationContext context)
    {
        var itemSizes = ArrayPool<int>.Shared.Rent(Math.Max(batch.Items.Count, 1));
        try
        {
            var batchSize = BatchMessageWriter.BatchSize(batch, itemSizes);
            var size = BatchMessageWriter.MessageSize(batchSize);
            context.SetPayloadLength(size);
            var writer = context.GetBufferWriter();
            BatchMessageWriter.Write(writer.GetSpan(size)[..size], batch, batchSize, itemSizes);
            writer.Advance(size);
            context.Complete();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(itemSizes);
        }
    }

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<MemberMessage, RuntimeBytes> _call;

    public GrpcSessionChannel(GrpcChannel channel, AsyncDuplexStreamingCall<MemberMessage, RuntimeBytes> call)
    {
        _channel = channel;
        _call = call;
    }

    public async ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Ended(ex);
        }
        catch (InvalidOperationException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Writing after the call finished: the runtime already ended the session. Its status
            // is the useful error, so read it.
            throw await StatusAfterFailureAsync(ex).ConfigureAwait(false);
        }
    }

    public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        var bytes = await ReadBytesAsync(cancellationToken).ConfigureAwait(false);
        return bytes?.ToMessageAndRelease();
    }

    public async ValueTask<RuntimeBytes?> ReadBytesAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false)
                ? _call.ResponseStream.Current
                : null;
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            throw Ended(ex);
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.CompleteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Ended(ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }

    private static SessionEndedException Ended(RpcException ex) =>
        new(ex.StatusCode, $"{ex.StatusCode}: {(string.IsNullOrEmpty(ex.Status.Detail) ? "session ended" : ex.Status.Detail)}", ex);

    private async Task<Exception> StatusAfterFailureAsync(Exception original)
    {
        try
        {
            await _call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            var status = _call.GetStatus();
            return new SessionEndedException(status.StatusCode, $"{status.StatusCode}: {status.Detail}", original);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or TimeoutException)
        {
            return ex is RpcException rpc ? Ended(rpc) : new SessionEndedException(StatusCode.Unavailable, original.Message, original);
        }
    }
}

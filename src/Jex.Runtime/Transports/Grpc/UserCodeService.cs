using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using HostLog = Jex.Runtime.Diagnostics.HostLog;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// The gRPC face of the session processor: one Transform call is one session. It only adapts
/// streams; the protocol lives in <see cref="SessionProcessor"/>.
/// </summary>
/// <remarks>
/// The service is bound by hand instead of through the generated base class, with marshallers
/// that move bytes: requests arrive as <see cref="MemberMessageBuffer"/>s (one copy into a pooled buffer,
/// read in place by the dispatcher) and responses leave as already-encoded
/// <see cref="RuntimeMessageBuffer"/>s. The wire format is the generated one's, byte for byte: service
/// <c>jex.v1.UserCode</c>, method <c>Transform</c>, protobuf messages.
/// </remarks>
internal sealed class UserCodeService : UserCodeServiceBinding
{
    // gRPC message header: a compressed flag and a big-endian length; then the message's first tag.
    private const int HeaderBytes = 5;
    private const byte InitTag = (1 << 3) | 2;

    private readonly SessionProcessor _processor;
    private readonly GrpcSessions _sessions;
    private readonly ILogger _logger;

    public UserCodeService(SessionProcessor processor, GrpcSessions sessions)
    {
        _processor = processor;
        _sessions = sessions;
        _logger = processor.Logger;
    }

    public override async Task Transform(
        IAsyncStreamReader<MemberMessageBuffer> requestStream,
        IServerStreamWriter<RuntimeMessageBuffer> responseStream,
        ServerCallContext context)
    {
        using var open = _sessions.Enter();
        try
        {
            var body = context.GetHttpContext().Request.BodyReader;
            await _processor.RunAsync(ReadAsync(requestStream, body, context.CancellationToken, CancellationToken.None), new StreamOutput(responseStream), context.CancellationToken)
                .ConfigureAwait(false);
            if (_processor.IsStopping)
            {
                await AwaitMemberEndAsync(body, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (SessionRejectedException e)
        {
            throw new RpcException(new Status(e.StatusCode, e.Message));
        }
    }

    /// <summary>
    /// Holds a session the runtime drained because it is stopping until the member ends its side
    /// (half-close or cancel), or the drain timeout aborts the call. Ending the call first would let
    /// Kestrel's graceful stop close the connection while the member's side is still open, and the
    /// member's HTTP/2 client then drops the results and Drained it has received but not yet read.
    /// Whatever the member still sends is discarded: the session took nothing after the drain began.
    /// </summary>
    private static async Task AwaitMemberEndAsync(PipeReader body, CancellationToken callAborted)
    {
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(callAborted).ConfigureAwait(false);
                body.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The member cancelled or left, or its stream already ended: either way it is done.
        }
    }

    /// <summary>
    /// The request stream, with two checks grpc-dotnet cannot make: the first message is looked at
    /// before grpc-dotnet buffers it, and a message the reader refuses (too large, bad length
    /// prefix) ends the call with that status and a log line instead of looking like a peer that
    /// left.
    /// </summary>
    private async IAsyncEnumerable<MemberMessageBuffer> ReadAsync(
        IAsyncStreamReader<MemberMessageBuffer> requestStream, PipeReader body, CancellationToken callAborted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await CheckFirstMessageAsync(body, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            bool more;
            try
            {
                more = await requestStream.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is not StatusCode.Cancelled)
            {
                throw Refuse(e.StatusCode, $"a member message was refused: {e.Status.Detail}");
            }
            catch (Exception e) when (e is not (OperationCanceledException or SessionRejectedException) && !callAborted.IsCancellationRequested)
            {
                // The peer is still there (its call was not aborted): the reader refused what it sent,
                // e.g. "Message too large" for a length prefix over 2 GiB.
                var status = e.Message.Contains("too large", StringComparison.OrdinalIgnoreCase) ? StatusCode.ResourceExhausted : StatusCode.InvalidArgument;
                throw Refuse(status, $"a member message was refused: {e.Message}");
            }

            if (!more)
            {
                yield break;
            }

            yield return requestStream.Current;
        }
    }

    /// <summary>
    /// Reads the first message's gRPC header and first tag without consuming them: a message that
    /// is not an Init, or is larger than UserCode:MaxInitBytes, is refused before any of it is
    /// buffered, let alone parsed. grpc-dotnet then reads the same bytes again.
    /// </summary>
    private async Task CheckFirstMessageAsync(PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (buffer.Length < HeaderBytes + 1 && !read.IsCompleted)
            {
                body.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var header = new byte[HeaderBytes + 1];
            var available = (int)Math.Min(buffer.Length, header.Length);
            buffer.Slice(0, available).CopyTo(header);
            body.AdvanceTo(buffer.Start, buffer.Start);
            if (available < HeaderBytes)
            {
                // The stream ended inside the header: grpc-dotnet reports that itself.
                return;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
            var isInit = available > HeaderBytes && header[HeaderBytes] == InitTag;
            var limit = _processor.Options.MaxInitBytes;
            if (length > 0 && !isInit)
            {
                var field = available > HeaderBytes && header[HeaderBytes] < 0x80 ? header[HeaderBytes] >> 3 : 0;
                throw Refuse(StatusCode.FailedPrecondition,
                    $"the first message of a session must be Init, not {FieldName(field)} ({length} bytes); nothing was read");
            }

            if (length > (uint)limit)
            {
                throw Refuse(StatusCode.ResourceExhausted,
                    $"the first message is {length} bytes; an Init is at most {limit} bytes (UserCode:MaxInitBytes); nothing was read");
            }

            return;
        }
    }

    private static string FieldName(int field) => field switch
    {
        2 => "Schemas",
        3 => "Batch",
        4 => "Cancel",
        5 => "Ping",
        6 => "Drain",
        _ => $"field {field}",
    };

    private SessionRejectedException Refuse(StatusCode status, string reason)
    {
        HostLog.CallRefused(_logger, status.ToString(), reason);
        return new SessionRejectedException(status, reason);
    }

    private sealed class StreamOutput(IServerStreamWriter<RuntimeMessageBuffer> stream) : ISessionOutput
    {
        // grpc-dotnet flushes every streamed message unless BufferHint is set.
        private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
        private static readonly WriteOptions Flushed = new();

        public ValueTask WriteAsync(RuntimeMessageBuffer message, bool moreFollows, CancellationToken cancellationToken)
        {
            stream.WriteOptions = moreFollows ? Buffered : Flushed;
            return new(stream.WriteAsync(message, cancellationToken));
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
    private static readonly Marshaller<MemberMessageBuffer> Requests = new(
        static (_, _) => throw new NotSupportedException("the runtime never sends a MemberMessage"),
        static context => MemberMessageBuffer.Copy(context.PayloadAsReadOnlySequence()));

    private static readonly Marshaller<RuntimeMessageBuffer> Responses = new(
        static (message, context) =>
        {
            var bytes = message.Span;
            context.SetPayloadLength(bytes.Length);
            var writer = context.GetBufferWriter();
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
            context.Complete();
        },
        static _ => throw new NotSupportedException("the runtime never reads a RuntimeMessage"));

    /// <summary>The method as the proto declares it (protos/jex/v1/usercode.proto).</summary>
    internal static readonly Method<MemberMessageBuffer, RuntimeMessageBuffer> TransformMethod = new(
        MethodType.DuplexStreaming, "jex.v1.UserCode", "Transform", Requests, Responses);

    /// <summary>Called by grpc-dotnet when the service is mapped.</summary>
    public static void BindService(ServiceBinderBase binder, UserCodeServiceBinding? service) =>
        binder.AddMethod(TransformMethod, service is null ? null : service.Transform);

    public abstract Task Transform(
        IAsyncStreamReader<MemberMessageBuffer> requestStream,
        IServerStreamWriter<RuntimeMessageBuffer> responseStream,
        ServerCallContext context);
}

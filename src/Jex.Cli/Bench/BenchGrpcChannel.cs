using System.Net.Sockets;
using System.Runtime.Versioning;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Member.Transports;
using Jex.Protocol.V1;

namespace Jex.Cli.Bench;

/// <summary>
/// A grpc-dotnet Transform call over TCP or a Unix socket, one HTTP/2 connection per session.
/// Stand-in until Jex.Member's GrpcSessionChannel is on main.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class BenchGrpcChannel : ISessionChannel
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> _call;

    private BenchGrpcChannel(GrpcChannel channel)
    {
        _channel = channel;
        _call = new Protocol.V1.UserCode.UserCodeClient(channel).Transform();
    }

    public static BenchGrpcChannel Open(string address)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false };
        var target = address;
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address["unix:".Length..];
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            };
            target = "http://localhost";
        }

        return new BenchGrpcChannel(GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        }));
    }

    public async ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw new SessionEndedException((int)e.StatusCode, e.Status.Detail, e);
        }
    }

    public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false) ? _call.ResponseStream.Current : null;
        }
        catch (RpcException e)
        {
            throw new SessionEndedException((int)e.StatusCode, e.Status.Detail, e);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken) =>
        await _call.RequestStream.CompleteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}

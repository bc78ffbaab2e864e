using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Member.Transports;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>A plain grpc-dotnet client session, over TCP or a Unix socket, for tests.</summary>
internal sealed class GrpcTestChannel : ISessionChannel
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> _call;

    private GrpcTestChannel(GrpcChannel channel, AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> call)
    {
        _channel = channel;
        _call = call;
    }

    public static GrpcTestChannel Open(string address)
    {
        GrpcChannel channel;
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address["unix:".Length..];
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        }
        else
        {
            channel = GrpcChannel.ForAddress(address);
        }

        var client = new UserCode.UserCodeClient(channel);
        return new GrpcTestChannel(channel, client.Transform());
    }

    public async ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken);
        }
        catch (RpcException e)
        {
            throw new SessionEndedException(e.StatusCode, e.Status.Detail, e);
        }
    }

    public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _call.ResponseStream.MoveNext(cancellationToken) ? _call.ResponseStream.Current : null;
        }
        catch (RpcException e)
        {
            throw new SessionEndedException(e.StatusCode, e.Status.Detail, e);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken) => await _call.RequestStream.CompleteAsync();

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}

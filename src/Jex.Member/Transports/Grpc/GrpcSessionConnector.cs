using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Protocol.Contract;

namespace Jex.Member.Transports.Grpc;

/// <summary>
/// gRPC over HTTP/2: TCP in plaintext (<c>http://127.0.0.1:PORT</c>) or TLS
/// (<c>https://host:PORT</c>, see <see cref="GrpcClientTls"/>), or a Unix domain socket
/// (<c>unix:/path</c>). One HTTP/2 connection per session keeps sessions independent: one dying
/// runtime connection fails only its own session.
/// </summary>
internal sealed class GrpcSessionConnector(GrpcClientTls? tls = null) : ISessionConnector
{
    // Batches are bounded by max_batch_bytes; results can be larger (flat-map), so allow room.
    private const int MaxMessageBytes = 64 * 1024 * 1024;

    public string Transport => TransportKinds.GrpcName;

    public ValueTask<ISessionChannel> ConnectAsync(RuntimeReadyInfo ready, CancellationToken cancellationToken)
    {
        var channel = CreateChannel(ready.Address, tls);
        try
        {
            var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(GrpcSessionChannel.TransformMethod, null, new CallOptions());
            return ValueTask.FromResult<ISessionChannel>(new GrpcSessionChannel(channel, call));
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    /// <summary>A channel for <c>http://host:port</c>, <c>https://host:port</c> or <c>unix:/path</c>.</summary>
    public static GrpcChannel CreateChannel(string address, GrpcClientTls? tls = null)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        var target = address;
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address["unix:".Length..];
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
            target = "http://localhost";
        }
        else if (address.StartsWith("https://", StringComparison.Ordinal))
        {
            tls?.Apply(handler);
        }
        else if (!address.StartsWith("http://", StringComparison.Ordinal))
        {
            throw new ArgumentException($"unsupported gRPC address '{address}': expected http://host:port, https://host:port or unix:/path", nameof(address));
        }

        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
    }
}

using System.Net.Sockets;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Deploy;

/// <summary>A jex.v1.Deploy client for tests: TCP or <c>unix:</c> addresses, the runtime's token unless told otherwise.</summary>
internal sealed class DeployClient : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    private readonly GrpcChannel _channel;
    private readonly Protocol.V1.Deploy.DeployClient _client;
    private readonly Metadata _headers;

    public DeployClient(string address, string? token = null)
    {
        _channel = Channel(address);
        _client = new Protocol.V1.Deploy.DeployClient(_channel);
        _headers = token == string.Empty ? [] : new Metadata { { "authorization", "Bearer " + (token ?? RuntimeProcess.Token) } };
    }

    private static GrpcChannel Channel(string address)
    {
        if (!address.StartsWith("unix:", StringComparison.Ordinal))
        {
            return GrpcChannel.ForAddress(address);
        }

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
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>Uploads <paramref name="package"/> in chunks, with a header that describes it unless overridden.</summary>
    public async Task<UploadResult> UploadAsync(
        byte[] package, PackageKind kind, string fileName = "", string label = "test", int chunkBytes = 256 * 1024, Action<UploadHeader>? alter = null)
    {
        var header = new UploadHeader
        {
            Label = label,
            Kind = kind,
            FileName = fileName,
            Sha256 = ByteString.CopyFrom(SHA256.HashData(package)),
            Size = (ulong)package.Length,
        };
        alter?.Invoke(header);
        using var call = _client.Upload(_headers, DateTime.UtcNow + CallTimeout);
        try
        {
            var first = true;
            for (var offset = 0; offset < package.Length || first; offset += chunkBytes)
            {
                var chunk = new UploadChunk { Data = ByteString.CopyFrom(package, offset, Math.Min(chunkBytes, package.Length - offset)) };
                if (first)
                {
                    chunk.Header = header;
                    first = false;
                }

                await call.RequestStream.WriteAsync(chunk);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The runtime refused mid-stream; the response carries why.
        }
        catch (InvalidOperationException)
        {
            // The call already ended (the runtime answered before reading everything).
        }

        return await call.ResponseAsync.WaitAsync(CallTimeout);
    }

    /// <summary>An Upload whose only chunk carries data and no header.</summary>
    public async Task<UploadResult> UploadWithoutHeaderAsync(byte[] data)
    {
        using var call = _client.Upload(_headers, DateTime.UtcNow + CallTimeout);
        try
        {
            await call.RequestStream.WriteAsync(new UploadChunk { Data = ByteString.CopyFrom(data) });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The runtime refused at once; the response carries why.
        }

        return await call.ResponseAsync.WaitAsync(CallTimeout);
    }

    public Task<UploadResult> UploadFolderAsync(string folder, string label = "test") =>
        UploadAsync(LiveCodeVersions.Zip(folder), PackageKind.Zip, label: label);

    public async Task<ActivateResult> ActivateAsync(string version) =>
        await _client.ActivateAsync(new ActivateRequest { Version = version }, _headers, DateTime.UtcNow + CallTimeout).ResponseAsync.WaitAsync(CallTimeout);

    /// <summary>Uploads a build folder and activates it.</summary>
    public async Task<ActivateResult> DeployAsync(string folder, string label = "test")
    {
        var uploaded = await UploadFolderAsync(folder, label);
        return await ActivateAsync(uploaded.Version);
    }

    public async Task<ListResult> ListAsync() =>
        await _client.ListAsync(new ListRequest(), _headers, DateTime.UtcNow + CallTimeout).ResponseAsync.WaitAsync(CallTimeout);

    public async Task RemoveAsync(string version) =>
        await _client.RemoveAsync(new RemoveRequest { Version = version }, _headers, DateTime.UtcNow + CallTimeout).ResponseAsync.WaitAsync(CallTimeout);

    public void Dispose() => _channel.Dispose();
}

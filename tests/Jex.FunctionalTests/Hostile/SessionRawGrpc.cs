using System.Buffers.Binary;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// A hostile member's gRPC: raw HTTP/2 requests to the Transform method with any bytes as the body
/// (bad length prefixes, huge non-Init messages), and the health service's Check, without
/// generated code.
/// </summary>
internal static class SessionRawGrpc
{
    public const string TransformPath = "/jex.v1.UserCode/Transform";

    /// <summary>The gRPC 5-byte message header: not compressed, big-endian length.</summary>
    public static byte[] Header(uint length)
    {
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    /// <summary>A MemberMessage { batch } of <paramref name="items"/> empty items, as a whole gRPC message.</summary>
    public static byte[] EmptyItemsBatchMessage(int items, out int messageLength)
    {
        // Batch { id = 1, items x N (each: tag 0x1A, length 0) }
        var batchLength = 2 + (items * 2);
        var lengthVarint = Varint((uint)batchLength);
        messageLength = 1 + lengthVarint.Length + batchLength;
        var bytes = new byte[5 + messageLength];
        Header((uint)messageLength).CopyTo(bytes, 0);
        var pos = 5;
        bytes[pos++] = 0x1A;
        lengthVarint.CopyTo(bytes, pos);
        pos += lengthVarint.Length;
        bytes[pos++] = 0x08;
        bytes[pos++] = 0x01;
        for (var i = 0; i < items; i++)
        {
            bytes[pos++] = 0x1A;
            bytes[pos++] = 0x00;
        }

        return bytes;
    }

    public static byte[] Varint(uint value)
    {
        var result = new List<byte>();
        while (value >= 0x80)
        {
            result.Add((byte)(value | 0x80));
            value >>= 7;
        }

        result.Add((byte)value);
        return [.. result];
    }

    /// <summary>The outcome of a raw call: its gRPC status and message, and the response bytes.</summary>
    public sealed record Outcome(int Status, string Message, int ResponseBytes);

    /// <summary>
    /// Sends <paramref name="body"/> as the request stream of a Transform call (then keeps the
    /// request open until the call ends) and returns how the runtime ended the call.
    /// </summary>
    public static async Task<Outcome> CallAsync(string address, Func<Stream, Task> body, TimeSpan timeout)
    {
        using var handler = new SocketsHttpHandler();
        using var client = new HttpClient(handler) { Timeout = timeout };
        using var cts = new CancellationTokenSource(timeout);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var request = new HttpRequestMessage(HttpMethod.Post, address.TrimEnd('/') + TransformPath)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new BodyContent(body, ended.Task),
        };
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var buffer = new byte[64 * 1024];
            var total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                total += n;
            }

            var status = Value(response, "grpc-status") ?? throw new InvalidOperationException("the call ended with no grpc-status");
            return new Outcome(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(Value(response, "grpc-message") ?? ""), total);
        }
        finally
        {
            ended.TrySetResult();
        }
    }

    private static string? Value(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
        : response.Headers.TryGetValues(name, out var h) ? h.First()
        : null;

    private sealed class BodyContent(Func<Stream, Task> body, Task ended) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            try
            {
                await body(stream);
                await stream.FlushAsync();
                // Keep the request stream open: a member that says nothing more is not one that left.
                await ended;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
            {
                // The runtime ended the call while the body was still going out: that is the point.
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static readonly Method<byte[], byte[]> HealthCheck = new(
        MethodType.Unary, "grpc.health.v1.Health", "Check",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    /// <summary>grpc.health.v1 Check for the whole server: 1 SERVING, 2 NOT_SERVING.</summary>
    public static async Task<int> HealthAsync(string address)
    {
        using var channel = GrpcChannel.ForAddress(address);
        var response = await channel.CreateCallInvoker()
            .AsyncUnaryCall(HealthCheck, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), [])
            .ResponseAsync;
        // HealthCheckResponse { status = 1 } is 08 01; SERVING_UNKNOWN (0) is empty.
        return response.Length >= 2 && response[0] == 0x08 ? response[1] : 0;
    }
}

using Grpc.Core;
using Grpc.Net.Client;
using Jex.Protocol.V1;

namespace Jex.Testing.Tests.Parity;

/// <summary>One gRPC session with a real jex-runtime, driven the way a member drives it.</summary>
internal sealed class RuntimeSession : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> _call;

    private RuntimeSession(GrpcChannel channel, AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> call)
    {
        _channel = channel;
        _call = call;
    }

    /// <summary>Sends Init and waits for Ready.</summary>
    public static async Task<RuntimeSession> OpenAsync(string address, Init init)
    {
        var channel = GrpcChannel.ForAddress(address);
        var session = new RuntimeSession(channel, new Jex.Protocol.V1.UserCode.UserCodeClient(channel).Transform());
        try
        {
            await session.SendAsync(new MemberMessage { Init = init });
            var first = await session.ReadAsync();
            if (first.Ready is null)
            {
                throw new InvalidOperationException("expected Ready, got " + first.KindCase);
            }

            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends the schemas (if any) and the batch; returns its result and the messages the runtime sent before it.</summary>
    public async Task<(BatchResult Result, List<RuntimeMessage> Before)> RunAsync(Batch batch, Schemas? schemas)
    {
        if (schemas is { Schemas_.Count: > 0 })
        {
            await SendAsync(new MemberMessage { Schemas = schemas });
        }

        await SendAsync(new MemberMessage { Batch = batch });
        var before = new List<RuntimeMessage>();
        while (true)
        {
            var message = await ReadAsync();
            if (message.Result is { } result)
            {
                return (result, before);
            }

            if (message.Error is { } error)
            {
                throw new InvalidOperationException($"protocol error {error.Code}: {error.Message}");
            }

            before.Add(message);
        }
    }

    private Task SendAsync(MemberMessage message) => _call.RequestStream.WriteAsync(message).WaitAsync(Timeout);

    private async Task<RuntimeMessage> ReadAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await _call.ResponseStream.MoveNext(cts.Token).WaitAsync(Timeout)
            ? _call.ResponseStream.Current
            : throw new InvalidOperationException("the runtime ended the session");
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}

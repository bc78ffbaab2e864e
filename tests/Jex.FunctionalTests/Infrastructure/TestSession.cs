using System.Text;
using Google.Protobuf;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>
/// Drives one session the way a member does, over any <see cref="ISessionChannel"/>, and records
/// everything the runtime sends.
/// </summary>
internal sealed class TestSession : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly ISessionChannel _channel;

    public TestSession(ISessionChannel channel) => _channel = channel;

    public Ready Ready { get; private set; } = null!;

    public List<Log> Logs { get; } = [];

    public List<ProtocolError> Errors { get; } = [];

    public List<RuntimeMessage> Received { get; } = [];

    public static Init InitFor(string function, string? token = null) => new()
    {
        ProtocolVersion = ProtocolContract.Version,
        Token = token ?? RuntimeProcess.Token,
        JobId = "job-1",
        JobName = "functional",
        StageName = "stage-1",
        Function = function,
        KeyFormat = Format.Text,
        ValueFormat = Format.Text,
    };

    /// <summary>Sends Init and waits for Ready; a refused session throws <see cref="SessionEndedException"/>.</summary>
    public async Task<Ready> OpenAsync(Init init)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await _channel.SendAsync(new MemberMessage { Init = init }, cts.Token);
        var first = await _channel.ReadAsync(cts.Token) ?? throw new InvalidOperationException("stream ended before Ready");
        Received.Add(first);
        Ready = first.Ready ?? throw new InvalidOperationException("first message was " + first.KindCase);
        return Ready;
    }

    public Task SendAsync(MemberMessage message) => _channel.SendAsync(message, CancellationToken.None).AsTask().WaitAsync(Timeout);

    /// <summary>Ends the member's side of the session (a gRPC half-close).</summary>
    public Task CompleteAsync() => _channel.CompleteAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);

    /// <summary>Reads the next message, recording logs and protocol errors; null at stream end.</summary>
    public async Task<RuntimeMessage?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        var message = await _channel.ReadAsync(cts.Token).AsTask().WaitAsync(timeout ?? Timeout);
        if (message is not null)
        {
            Received.Add(message);
            if (message.Log is { } log)
            {
                Logs.Add(log);
            }

            if (message.Error is { } error)
            {
                Errors.Add(error);
            }
        }

        return message;
    }

    /// <summary>Reads until a message matching <paramref name="predicate"/> arrives.</summary>
    public async Task<RuntimeMessage> ReadUntilAsync(Func<RuntimeMessage, bool> predicate, TimeSpan? timeout = null)
    {
        while (true)
        {
            var m = await ReadAsync(timeout) ?? throw new InvalidOperationException("stream ended while waiting");
            if (predicate(m))
            {
                return m;
            }
        }
    }

    /// <summary>
    /// Sends the batches with at most <paramref name="inFlight"/> outstanding and returns their
    /// results by batch id.
    /// </summary>
    public async Task<Dictionary<ulong, BatchResult>> RunAsync(IReadOnlyList<Batch> batches, int inFlight)
    {
        var results = new Dictionary<ulong, BatchResult>();
        using var inFlightGate = new SemaphoreSlim(inFlight, inFlight);
        var sender = Task.Run(async () =>
        {
            foreach (var batch in batches)
            {
                await inFlightGate.WaitAsync(Timeout);
                await SendAsync(new MemberMessage { Batch = batch });
            }
        });
        while (results.Count < batches.Count)
        {
            var m = await ReadAsync() ?? throw new InvalidOperationException($"stream ended after {results.Count} of {batches.Count} results");
            if (m.Result is { } r)
            {
                results.Add(r.BatchId, r);
                inFlightGate.Release();
            }
            else if (m.Error is { } e)
            {
                throw new InvalidOperationException($"protocol error {e.Code}: {e.Message}");
            }
        }

        await sender.WaitAsync(Timeout);
        return results;
    }

    /// <summary>Sends Drain and reads to the end of the stream; returns the Drained message.</summary>
    public async Task<Drained> DrainAsync()
    {
        await SendAsync(new MemberMessage { Drain = new Drain() });
        var drained = (await ReadUntilAsync(m => m.Drained is not null)).Drained;
        await _channel.CompleteAsync(CancellationToken.None);
        var end = await ReadAsync();
        if (end is not null)
        {
            throw new InvalidOperationException("expected the stream to end after Drained, got " + end.KindCase);
        }

        return drained;
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();

    public static Batch MakeBatch(ulong id, IEnumerable<string> values, uint deadlineMs = 0, int partition = 7)
    {
        var batch = new Batch { Id = id, DeadlineMs = deadlineMs };
        long seq = 0;
        foreach (var v in values)
        {
            batch.Items.Add(new Item
            {
                Key = ByteString.CopyFromUtf8("key-" + v),
                Value = ByteString.CopyFromUtf8(v),
                TimestampMs = 1_700_000_000_000 + seq,
                Partition = partition,
                Sequence = seq++,
            });
        }

        return batch;
    }

    public static string Text(ByteString b) => Encoding.UTF8.GetString(b.Span);
}

using System.Collections.Concurrent;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// The session's only way out: order under contention, and user logs that drop rather than wait.
/// Messages are decoded from the bytes the writer hands the transport.
/// </summary>
public sealed class SessionWriterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Set in each sender's flow: a write that sees it was made directly by the sender, not by the writer loop.
    private static readonly AsyncLocal<ulong> Sender = new();

    [Fact]
    public async Task ABatchsLogs_ReachTheOutputBeforeItsResult_EvenWithManyBatchesSendingAtOnce()
    {
        // Whether a result is written directly or by the writer loop depends on scheduling: on a
        // loaded machine a whole round can go through the loop. Rounds repeat (each checked in
        // full) until both paths carried messages, so the order is proven with both in play.
        var deadline = DateTime.UtcNow + Timeout;
        var (rounds, direct) = (0, 0);
        while (rounds < 3 || direct == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no message was written directly in {rounds} rounds");
            direct += await SendConcurrentlyAndCheckOrderAsync(batches: 200);
            rounds++;
        }
    }

    /// <summary>Batches finish at once, as BatchRuns do; returns how many messages were written directly.</summary>
    private static async Task<int> SendConcurrentlyAndCheckOrderAsync(int batches)
    {
        const int LogsPerBatch = 3;
        static int LogsOf(ulong id) => id % 2 == 0 ? LogsPerBatch : 0;
        var output = new RecordingOutput { YieldEvery = 3 };
        using var session = new CancellationTokenSource();
        var writer = new SessionWriter(output, session, inFlight: null, counters: null, capacity: batches * (LogsPerBatch + 1));
        var loop = writer.RunAsync(session.Token);

        // Each sender logs (every other one), then sends its result; a result with nothing queued
        // ahead may be written directly. The senders wait for the start without holding a thread,
        // so the writer loop is not starved of one.
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var senders = Enumerable.Range(1, batches).Select(n => Task.Run(async () =>
        {
            var id = (ulong)n;
            Sender.Value = id;
            await start.Task;
            for (var i = 0; i < LogsOf(id); i++)
            {
                Assert.True(writer.TryLog(LogFrame(id, $"log {i}")));
            }

            await writer.SendAsync(ResultFrame(id));
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(senders).WaitAsync(Timeout);
        writer.Complete();
        await loop.WaitAsync(Timeout);

        var messages = output.Messages.ToArray();
        Assert.Equal(batches + (batches / 2 * LogsPerBatch), messages.Length);
        Assert.Equal(0, writer.LogsDropped);
        for (var id = 1UL; id <= (ulong)batches; id++)
        {
            var resultAt = Array.FindIndex(messages, m => m.Result?.BatchId == id);
            var logsAt = messages.Select((m, i) => (m, i)).Where(x => x.m.Log?.BatchId == id).Select(x => x.i).ToArray();
            Assert.True(resultAt >= 0, $"no result for batch {id}");
            Assert.Equal(LogsOf(id), logsAt.Length);
            Assert.All(logsAt, at => Assert.True(at < resultAt, $"a log of batch {id} at {at} came after its result at {resultAt}"));
            Assert.Equal(logsAt.Select((_, i) => $"log {i}"), logsAt.Select(at => messages[at].Log.Message));
        }

        // Logs are never written directly: the loop carried some messages in every round.
        Assert.True(output.DirectWrites < messages.Length, "every message was written directly");
        return output.DirectWrites;
    }

    [Fact]
    public async Task AFullQueue_DropsUserLogsWithoutWaiting_CountsThem_AndStillDeliversTheResultAfterTheQueuedLogs()
    {
        var output = new RecordingOutput { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var session = new CancellationTokenSource();
        using var inFlight = new SemaphoreSlim(0, 1);
        var counters = new RuntimeCounters();
        var writer = new SessionWriter(output, session, inFlight, counters, capacity: 4);
        var loop = writer.RunAsync(session.Token);

        // The first message goes straight to the transport, which does not take it: the member stopped reading.
        var first = writer.SendAsync(ResultFrame(1));
        await output.Entered.Task.WaitAsync(Timeout);

        var accepted = Enumerable.Range(0, 10).Select(i => writer.TryLog(LogFrame(2, $"log {i}"))).ToArray();

        Assert.Equal([true, true, true, true, false, false, false, false, false, false], accepted);
        Assert.Equal(6, writer.LogsDropped);
        Assert.Equal(6UL, counters.Snapshot().LogsDropped);

        // A result waits for room (it is never dropped), and frees its in-flight permit only when written.
        var result = ResultFrame(2);
        result.HoldsInFlight = true;
        var second = writer.SendAsync(result).AsTask();
        Assert.False(second.IsCompleted);
        Assert.Equal(0, inFlight.CurrentCount);

        output.Gate.SetResult();
        await first.AsTask().WaitAsync(Timeout);
        await second.WaitAsync(Timeout);
        writer.Complete();
        await loop.WaitAsync(Timeout);

        Assert.Equal(1, inFlight.CurrentCount);
        Assert.Equal(
            ["result 1", "log 0", "log 1", "log 2", "log 3", "result 2"],
            output.Messages.Select(m => m.Result is { } r ? $"result {r.BatchId}" : m.Log.Message));
    }

    [Fact]
    public async Task AfterTheTransportFails_SendThrowsChannelClosed_AndLogsAreNotCountedAsDropped()
    {
        var output = new RecordingOutput { Fail = true };
        using var session = new CancellationTokenSource();
        var writer = new SessionWriter(output, session, inFlight: null, counters: null);
        var loop = writer.RunAsync(session.Token);

        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(() => writer.SendAsync(ResultFrame(1)).AsTask().WaitAsync(Timeout));
        Assert.True(session.IsCancellationRequested);
        Assert.False(writer.TryLog(LogFrame(1, "late")));
        Assert.Equal(0, writer.LogsDropped);
        await Assert.ThrowsAnyAsync<Exception>(() => loop.WaitAsync(Timeout));
    }

    [Fact]
    public async Task AfterComplete_NothingMoreReachesTheTransport_NotEvenADirectWrite()
    {
        var output = new RecordingOutput();
        using var session = new CancellationTokenSource();
        var writer = new SessionWriter(output, session, inFlight: null, counters: null);
        var loop = writer.RunAsync(session.Token);
        await writer.SendAsync(ResultFrame(1)).AsTask().WaitAsync(Timeout);
        writer.Complete();
        await loop.WaitAsync(Timeout);

        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(() => writer.SendAsync(ResultFrame(2)).AsTask().WaitAsync(Timeout));
        Assert.Equal([1UL], output.Messages.Select(m => m.Result.BatchId));
    }

    private static RuntimeMessageBuffer LogFrame(ulong batchId, string message) =>
        RuntimeMessageBuffer.From(new RuntimeMessage { Log = new Log { BatchId = batchId, Message = message, Category = "UserCode.Test" } });

    private static RuntimeMessageBuffer ResultFrame(ulong batchId) =>
        RuntimeMessageBuffer.From(new RuntimeMessage { Result = new BatchResult { BatchId = batchId } });

    private sealed class RecordingOutput : ISessionOutput
    {
        private int _writes;

        public ConcurrentQueue<RuntimeMessage> Messages { get; } = new();

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When set, the first write waits for it: a member that does not read.</summary>
        public TaskCompletionSource? Gate { get; init; }

        /// <summary>Every this many writes, the write completes asynchronously, so senders pile up.</summary>
        public int YieldEvery { get; init; }

        public bool Fail { get; init; }

        public int DirectWrites;

        public async ValueTask WriteAsync(RuntimeMessageBuffer frame, bool moreFollows, CancellationToken cancellationToken)
        {
            if (Fail)
            {
                throw new IOException("the peer reset the connection");
            }

            // Only one writer at a time may be here; the writer's gate guarantees it.
            var n = Interlocked.Increment(ref _writes);
            Assert.Equal(n, Messages.Count + 1);
            Messages.Enqueue(frame.ToMessage());
            if (Sender.Value != 0)
            {
                Interlocked.Increment(ref DirectWrites);
            }

            Entered.TrySetResult();
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }
            else if (YieldEvery > 0 && n % YieldEvery == 0)
            {
                await Task.Yield();
            }
        }
    }
}

using Google.Protobuf;
using Jex.Cli.Bench;
using Jex.Cli.Soak;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Jex.Testing.Shared;

namespace Jex.Cli.Tests.Soak;

/// <summary>
/// The soak's loss and correctness checks, against the runtime's real session processor on the
/// direct path (the published samples' identity function), with a channel between them that can
/// drop, repeat or corrupt one result, as a broken runtime or transport would.
/// </summary>
public sealed class SoakWorkloadTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectRuntime _runtime = new(TestPaths.Samples);

    public void Dispose() => _runtime.Dispose();

    private enum Fault
    {
        None,
        Drop,
        Repeat,
        Corrupt,
        SwapItems,
    }

    /// <summary>
    /// Runs 20 batches of 16 (however slow the machine), so pooled batches are reused. With a
    /// dropped result the run would wait for it forever: it is stopped, as the soak's stall watch
    /// stops it, once every other result is back.
    /// </summary>
    private async Task<SoakWorkload> RunAsync(Fault fault, ulong faultyBatch)
    {
        await using var channel = new FaultyChannel(_runtime.Open(), fault, faultyBatch);
        var workload = new SoakWorkload(channel, payload: 64, batchItems: 16, inFlight: 4);
        await workload.OpenAsync(string.Empty, "identity", CancellationToken.None).WaitAsync(Timeout);
        using var cts = new CancellationTokenSource(Timeout);
        var run = workload.RunAsync(TimeSpan.Zero, cts.Token, minBatches: 20);
        if (fault == Fault.Drop)
        {
            await Wait.UntilAsync(() => workload.Ledger.BatchesSent == 20 && workload.Ledger.BatchesReceived == 19, Timeout, "20 batches sent and 19 received");
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Timeout));
            return workload;
        }

        await run.WaitAsync(Timeout);
        await workload.CloseAsync(cts.Token).WaitAsync(Timeout);
        return workload;
    }

    [Fact]
    public async Task RunAsync_AgainstTheRealDispatcher_GetsEveryItemBackRight()
    {
        var workload = await RunAsync(Fault.None, 0);

        var counts = workload.Ledger.Counts();
        Assert.Equal(20, counts.BatchesSent);
        Assert.Equal(counts.ItemsSent, counts.ItemsOk);
        Assert.Equal(counts.BatchesSent, counts.BatchesReceived);
        Assert.Equal(0, counts.Lost + counts.ItemsWrong + counts.Duplicates + counts.Unknown);
        Assert.Null(workload.FirstWrong);
    }

    [Fact]
    public async Task RunAsync_WhenAResultNeverComes_CountsItsItemsLost()
    {
        var workload = await RunAsync(Fault.Drop, 3);

        var counts = workload.Ledger.Counts();
        Assert.Equal(16, counts.Lost);
        Assert.Equal(counts.ItemsSent - 16, counts.ItemsOk);
        Assert.False(SoakVerdict.Evaluate(counts, [], 1, 10, null).Passed);
    }

    [Fact]
    public async Task RunAsync_WhenAResultComesTwice_CountsADuplicate()
    {
        var workload = await RunAsync(Fault.Repeat, 3);

        var counts = workload.Ledger.Counts();
        Assert.Equal(1, counts.Duplicates);
        Assert.Equal(0, counts.Lost);
        Assert.Equal("batch 3: a result that is a duplicate", workload.FirstWrong);
    }

    [Fact]
    public async Task RunAsync_WhenAnOutputIsNotItsInput_CountsThatItemWrong()
    {
        var workload = await RunAsync(Fault.Corrupt, 3);

        var counts = workload.Ledger.Counts();
        Assert.Equal(1, counts.ItemsWrong);
        Assert.Equal(counts.ItemsSent - 1, counts.ItemsOk);
        Assert.Equal("batch 3: item 5: an output that is not its input", workload.FirstWrong);
    }

    [Fact]
    public async Task RunAsync_WhenTwoItemsOutputsAreSwapped_CountsBothWrong()
    {
        // Identical payloads would hide this; each value carries its batch id and index.
        var workload = await RunAsync(Fault.SwapItems, 3);

        Assert.Equal(2, workload.Ledger.ItemsWrong);
        Assert.Equal("batch 3: item 0: an output that is not its input", workload.FirstWrong);
    }

    [Fact]
    public void CompareItems_ErrorsMissingAndExtraOutputs_AreEachWrong()
    {
        byte[][] sent = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
        var result = new BatchResult { BatchId = 9 };
        result.Results.Add(Ok(sent[0]));
        result.Results.Add(new ItemResult { Error = new ItemError { Type = "E", Message = "boom" } });
        var two = Ok(sent[2]);
        two.Ok.Outputs_.Add(new Output { Value = ByteString.CopyFrom(sent[2]) });
        result.Results.Add(two);
        var bytes = new RuntimeMessage { Result = result }.ToByteArray();

        Assert.True(SoakWorkload.IsResult(bytes, out var body));
        Assert.Equal(9UL, SoakWorkload.BatchId(body));
        Assert.Equal((1L, 2L, "item 1: failed (an ItemError)"), SoakWorkload.CompareItems(body, sent));

        // One item short: the missing one is wrong too.
        result.Results.RemoveAt(2);
        Assert.True(SoakWorkload.IsResult(new RuntimeMessage { Result = result }.ToByteArray(), out body));
        Assert.Equal((1L, 2L, "item 1: failed (an ItemError)"), SoakWorkload.CompareItems(body, sent));
        result.Results.RemoveAt(1);
        Assert.True(SoakWorkload.IsResult(new RuntimeMessage { Result = result }.ToByteArray(), out body));
        Assert.Equal((1L, 2L, "2 of 3 item(s) missing from the result"), SoakWorkload.CompareItems(body, sent));
    }

    [Fact]
    public void IsResult_ForAnythingButABatchResult_IsFalse()
    {
        Assert.False(SoakWorkload.IsResult(new RuntimeMessage { Pong = new Pong { Nonce = 1 } }.ToByteArray(), out _));
        Assert.False(SoakWorkload.IsResult([], out _));
    }

    private static ItemResult Ok(byte[] value)
    {
        var item = new ItemResult { Ok = new Outputs() };
        item.Ok.Outputs_.Add(new Output { Value = ByteString.CopyFrom(value) });
        return item;
    }

    /// <summary>Passes messages through, except one batch's result, which it drops, repeats or changes.</summary>
    private sealed class FaultyChannel(ISessionChannel inner, Fault fault, ulong batchId) : ISessionChannel
    {
        private RuntimeBytes? _repeat;

        public ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken) => inner.SendAsync(message, cancellationToken);

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
        {
            if (await ReadBytesAsync(cancellationToken) is not { } bytes)
            {
                return null;
            }

            var message = bytes.ToMessage();
            bytes.Release();
            return message;
        }

        public async ValueTask<RuntimeBytes?> ReadBytesAsync(CancellationToken cancellationToken)
        {
            if (_repeat is { } again)
            {
                _repeat = null;
                return again;
            }

            while (true)
            {
                var bytes = await inner.ReadBytesAsync(cancellationToken);
                if (bytes is null || !bytes.TryReadResult(out var summary) || summary.BatchId != batchId || fault == Fault.None)
                {
                    return bytes;
                }

                var message = bytes.ToMessage();
                bytes.Release();
                switch (fault)
                {
                    case Fault.Drop:
                        continue;
                    case Fault.Repeat:
                        _repeat = RuntimeBytes.From(message);
                        break;
                    case Fault.Corrupt:
                        var value = message.Result.Results[5].Ok.Outputs_[0].Value.ToByteArray();
                        value[^1] ^= 0xFF;
                        message.Result.Results[5].Ok.Outputs_[0].Value = ByteString.CopyFrom(value);
                        break;
                    case Fault.SwapItems:
                        (message.Result.Results[0], message.Result.Results[1]) = (message.Result.Results[1], message.Result.Results[0]);
                        break;
                }

                return RuntimeBytes.From(message);
            }
        }
    }
}

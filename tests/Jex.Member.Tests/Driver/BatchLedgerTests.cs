using Google.Protobuf;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Member.Tests.Driver;

public sealed class BatchLedgerTests
{
    private static List<Item> Items(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new Item { Key = ByteString.CopyFromUtf8($"k{i}") })];

    private static BatchResult Result(ulong wireId, int items)
    {
        var result = new BatchResult { BatchId = wireId };
        for (var i = 0; i < items; i++)
        {
            result.Results.Add(new ItemResult { Ok = new Outputs() });
        }

        return result;
    }

    [Fact]
    public void TryResolve_WhenOrderIsPreserved_HoldsLateResultsUntilTheEarlierOnesArrive()
    {
        var ledger = new BatchLedger(preserveOrder: true);
        var batches = Enumerable.Range(0, 4).Select(_ => ledger.Add(Items(2), 10)).ToList();
        ledger.BeginGeneration(out var gen);
        var wire = batches.Select(b => ledger.MarkSent(gen, b)).ToList();
        var emit = new List<(PendingBatch Batch, BatchResult Result)>();

        ledger.TryResolve(gen, Result(wire[2], 2), emit);
        ledger.TryResolve(gen, Result(wire[1], 2), emit);
        Assert.Empty(emit);
        ledger.TryResolve(gen, Result(wire[0], 2), emit);
        Assert.Equal([0L, 1, 2], emit.Select(e => e.Batch.Sequence));
        ledger.TryResolve(gen, Result(wire[3], 2), emit);
        Assert.Equal([0L, 1, 2, 3], emit.Select(e => e.Batch.Sequence));
    }

    [Fact]
    public void TryResolve_WhenOrderIsNotPreserved_EmitsAtOnce()
    {
        var ledger = new BatchLedger(preserveOrder: false);
        var a = ledger.Add(Items(1), 1);
        var b = ledger.Add(Items(1), 1);
        ledger.BeginGeneration(out var gen);
        var wa = ledger.MarkSent(gen, a);
        var wb = ledger.MarkSent(gen, b);
        var emit = new List<(PendingBatch Batch, BatchResult Result)>();

        ledger.TryResolve(gen, Result(wb, 1), emit);

        Assert.Equal([1L], emit.Select(e => e.Batch.Sequence));
        _ = wa;
    }

    [Fact]
    public void BeginGeneration_ReturnsOnlyTakenBatchesWithoutResult_InSequenceOrder()
    {
        var ledger = new BatchLedger(preserveOrder: true);
        var batches = Enumerable.Range(0, 5).Select(_ => ledger.Add(Items(1), 1)).ToList();
        ledger.BeginGeneration(out var gen1);
        var w0 = ledger.MarkSent(gen1, batches[0]);
        ledger.MarkSent(gen1, batches[1]);
        ledger.MarkSent(gen1, batches[3]);
        ledger.TryResolve(gen1, Result(w0, 1), []);

        var replay = ledger.BeginGeneration(out var gen2);

        Assert.Equal([1L, 3], replay.Select(b => b.Sequence));
        Assert.Equal(gen1 + 1, gen2);
        // Wire ids restart per session, and the old session's ids mean nothing any more.
        Assert.Equal(1UL, ledger.MarkSent(gen2, replay[0]));
        Assert.Equal(2, replay[0].Sends);
    }

    [Fact]
    public void TryResolve_WhenTheResultIsFromAnOldSession_IgnoresIt_SoTheSinkGetsEachResultOnce()
    {
        var ledger = new BatchLedger(preserveOrder: false);
        var batch = ledger.Add(Items(1), 1);
        ledger.BeginGeneration(out var gen1);
        var oldWire = ledger.MarkSent(gen1, batch);
        ledger.BeginGeneration(out var gen2);
        var newWire = ledger.MarkSent(gen2, batch);
        var emit = new List<(PendingBatch Batch, BatchResult Result)>();

        Assert.False(ledger.TryResolve(gen1, Result(oldWire, 1), emit));
        Assert.True(ledger.TryResolve(gen2, Result(newWire, 1), emit));
        Assert.Throws<ProtocolViolationException>(() => ledger.TryResolve(gen2, Result(newWire, 1), emit));
        Assert.Single(emit);
    }

    [Fact]
    public void TryResolve_WhenResultCountDoesNotMatchItems_IsAProtocolViolation()
    {
        var ledger = new BatchLedger(preserveOrder: false);
        var batch = ledger.Add(Items(3), 1);
        ledger.BeginGeneration(out var gen);
        var wire = ledger.MarkSent(gen, batch);

        var ex = Assert.Throws<ProtocolViolationException>(() => ledger.TryResolve(gen, Result(wire, 2), []));

        Assert.Contains("2 result(s) for batch 1 of 3 item(s)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllResolved_CompletesOnlyWhenTheSourceIsDoneAndEveryBatchHasAResult()
    {
        var ledger = new BatchLedger(preserveOrder: true);
        var batch = ledger.Add(Items(1), 1);
        ledger.BeginGeneration(out var gen);
        var wire = ledger.MarkSent(gen, batch);
        ledger.TryResolve(gen, Result(wire, 1), []);
        Assert.False(ledger.AllResolved.IsCompleted);

        ledger.CompleteSource();

        await ledger.AllResolved.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Backoff_DoublesFromTheInitialDelayUpToTheCap()
    {
        var policy = new RestartPolicy { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(500) };

        Assert.Equal([100.0, 200, 400, 500, 500], Enumerable.Range(1, 5).Select(n => policy.Backoff(n).TotalMilliseconds));
    }
}

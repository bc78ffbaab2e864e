namespace Jex.Cli.Soak;

/// <summary>How a result compared with what was sent.</summary>
internal enum ResultClass
{
    /// <summary>The result of a batch that was outstanding.</summary>
    Expected,

    /// <summary>A second result for a batch that already had one.</summary>
    Duplicate,

    /// <summary>A result for a batch id that was never sent.</summary>
    Unknown,
}

/// <summary>
/// The soak's account of every batch: sent, answered, answered twice, never answered. Every item
/// sent must come back exactly once and be right; what is outstanding when the run ends is lost.
/// One reader updates it; the counters may be read from other threads for progress lines.
/// </summary>
/// <typeparam name="TBatch">What the sender keeps per outstanding batch (its pooled message).</typeparam>
internal sealed class SoakLedger<TBatch>
    where TBatch : class
{
    private readonly Dictionary<ulong, (int Items, TBatch Batch)> _outstanding = [];
    private ulong _highestSent;
    private long _batchesSent;
    private long _itemsSent;
    private long _batchesReceived;
    private long _itemsOk;
    private long _itemsWrong;
    private long _duplicates;
    private long _unknown;

    public long BatchesSent => Volatile.Read(ref _batchesSent);

    public long ItemsSent => Volatile.Read(ref _itemsSent);

    public long BatchesReceived => Volatile.Read(ref _batchesReceived);

    /// <summary>Items that came back with exactly the output expected.</summary>
    public long ItemsOk => Volatile.Read(ref _itemsOk);

    /// <summary>Items that came back failed, with another output, or missing from their batch's result.</summary>
    public long ItemsWrong => Volatile.Read(ref _itemsWrong);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long Unknown => Volatile.Read(ref _unknown);

    public int OutstandingBatches => _outstanding.Count;

    /// <summary>Items sent that have no result (yet; at the end of a run, lost).</summary>
    public long OutstandingItems => _outstanding.Values.Sum(o => (long)o.Items);

    /// <summary>Records a batch about to be sent. Ids must increase.</summary>
    public void Sent(ulong id, int items, TBatch batch)
    {
        if (id <= _highestSent)
        {
            throw new ArgumentException($"batch id {id} is not above the last one sent ({_highestSent})", nameof(id));
        }

        _highestSent = id;
        _outstanding.Add(id, (items, batch));
        Volatile.Write(ref _batchesSent, _batchesSent + 1);
        Volatile.Write(ref _itemsSent, _itemsSent + items);
    }

    /// <summary>
    /// Takes the result for <paramref name="id"/>: hands back the batch it answers (so its content
    /// can be compared) when it was outstanding, and classifies it otherwise.
    /// </summary>
    public ResultClass Receive(ulong id, out TBatch? batch, out int items)
    {
        if (_outstanding.Remove(id, out var entry))
        {
            batch = entry.Batch;
            items = entry.Items;
            Volatile.Write(ref _batchesReceived, _batchesReceived + 1);
            return ResultClass.Expected;
        }

        batch = null;
        items = 0;
        if (id != 0 && id <= _highestSent)
        {
            Volatile.Write(ref _duplicates, _duplicates + 1);
            return ResultClass.Duplicate;
        }

        Volatile.Write(ref _unknown, _unknown + 1);
        return ResultClass.Unknown;
    }

    /// <summary>Records how the items of an expected result compared: right ones and wrong ones (wrong includes missing).</summary>
    public void Checked(long ok, long wrong)
    {
        Volatile.Write(ref _itemsOk, _itemsOk + ok);
        Volatile.Write(ref _itemsWrong, _itemsWrong + wrong);
    }

    public SoakCounts Counts() => new(BatchesSent, ItemsSent, BatchesReceived, ItemsOk, ItemsWrong, Duplicates, Unknown, OutstandingItems);
}

/// <summary>The ledger's totals at the end of a run.</summary>
internal sealed record SoakCounts(long BatchesSent, long ItemsSent, long BatchesReceived, long ItemsOk, long ItemsWrong, long Duplicates, long Unknown, long Lost);

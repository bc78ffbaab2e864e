using System.Threading.Channels;
using Jex.Protocol.V1;

namespace Jex.Member.Driver;

/// <summary>
/// Turns the journal into batches: takes what the journal has now, up to the item and byte bounds,
/// waits for room in flight, records the batch in the ledger and queues it for the current session.
/// </summary>
internal sealed class Batcher
{
    private readonly BatchLedger _ledger;
    private readonly DriverStats _stats;
    private readonly int _maxItems;
    private readonly int _maxBytes;

    public Batcher(BatchLedger ledger, DriverStats stats, DriverOptions options)
    {
        _ledger = ledger;
        _stats = stats;
        _maxItems = Math.Max(1, options.MaxBatchItems);
        _maxBytes = (int)Math.Max(1024, options.Session.MaxBatchBytes);
    }

    /// <summary>Runs until <paramref name="source"/> completes, then completes <paramref name="toSend"/> (with the error, if one ends it).</summary>
    /// <param name="source">The journal.</param>
    /// <param name="toSend">The batches for the current session.</param>
    /// <param name="inFlight">One unit per batch built and not yet sunk; the sink pump gives it back.</param>
    /// <param name="cancellationToken">Ends the job.</param>
    public async Task RunAsync(ChannelReader<Item> source, ChannelWriter<PendingBatch> toSend, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        try
        {
            while (await source.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Natural batching: take what the journal has now, up to the bounds; never wait
                // for a batch to fill, so latency stays low at low rates.
                var items = new List<Item>(Math.Min(_maxItems, 64));
                var bytes = 0;
                while (items.Count < _maxItems && source.TryPeek(out var next))
                {
                    var size = next.CalculateSize() + 8;
                    if (items.Count > 0 && bytes + size > _maxBytes)
                    {
                        break;
                    }

                    source.TryRead(out _);
                    items.Add(next);
                    bytes += size;
                }

                if (items.Count == 0)
                {
                    continue;
                }

                await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
                _stats.AddIn(items.Count);
                toSend.TryWrite(_ledger.Add(items, bytes));
            }

            _ledger.CompleteSource();
            toSend.TryComplete();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            toSend.TryComplete(ex);
            throw;
        }
    }
}

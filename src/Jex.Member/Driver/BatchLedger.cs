using Jex.Protocol.V1;

namespace Jex.Member.Driver;

/// <summary>
/// The replay and ordering bookkeeping of one transform stage, independent of any transport.
/// </summary>
/// <remarks>
/// Invariants, all under one lock:
/// <list type="bullet">
/// <item>a batch is unresolved from <see cref="Add"/> until its first valid result; then it is
/// never resolved again, so the sink sees each result exactly once;</item>
/// <item>wire ids belong to one generation (session); a new generation forgets them, and every
/// unresolved batch that was taken by an earlier session is returned for replay;</item>
/// <item>with preserve-order, results leave in <see cref="PendingBatch.Sequence"/> order, which is
/// journal order.</item>
/// </list>
/// </remarks>
internal sealed class BatchLedger
{
    private readonly Lock _lock = new();
    private readonly bool _preserveOrder;
    private readonly SortedDictionary<long, PendingBatch> _unresolved = [];
    private readonly Dictionary<ulong, PendingBatch> _wire = [];
    private readonly SortedDictionary<long, (PendingBatch Batch, BatchResult Result)> _reorder = [];
    private readonly TaskCompletionSource _allResolved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextSequence;
    private long _nextEmit;
    private long _resolved;
    private ulong _nextWireId;
    private int _generation;
    private bool _sourceDone;

    public BatchLedger(bool preserveOrder) => _preserveOrder = preserveOrder;

    public int Generation
    {
        get { lock (_lock) { return _generation; } }
    }

    public long ResolvedCount
    {
        get { lock (_lock) { return _resolved; } }
    }

    public long AddedCount
    {
        get { lock (_lock) { return _nextSequence; } }
    }

    /// <summary>Completes when the source is done and every batch has a result.</summary>
    public Task AllResolved => _allResolved.Task;

    /// <summary>Unresolved batches that some session holds or held.</summary>
    public int InFlight
    {
        get { lock (_lock) { return _unresolved.Values.Count(b => b.Taken); } }
    }

    /// <summary>The batch the current session knows as <paramref name="wireId"/>, if it is still in flight.</summary>
    public PendingBatch? BatchOf(ulong wireId)
    {
        lock (_lock)
        {
            return _wire.TryGetValue(wireId, out var batch) ? batch : null;
        }
    }

    public PendingBatch Add(IReadOnlyList<Item> items, int bytes)
    {
        lock (_lock)
        {
            if (_sourceDone)
            {
                throw new InvalidOperationException("the source is complete");
            }

            var batch = new PendingBatch(_nextSequence++, items, bytes);
            _unresolved.Add(batch.Sequence, batch);
            return batch;
        }
    }

    public void CompleteSource()
    {
        lock (_lock)
        {
            _sourceDone = true;
            CheckAllResolved();
        }
    }

    /// <summary>
    /// Starts a new session generation: forgets the old wire ids and returns the batches to
    /// replay (taken, unresolved), in sequence order.
    /// </summary>
    public IReadOnlyList<PendingBatch> BeginGeneration(out int generation)
    {
        lock (_lock)
        {
            generation = ++_generation;
            _wire.Clear();
            _nextWireId = 0;
            return [.. _unresolved.Values.Where(b => b.Taken)];
        }
    }

    /// <summary>Records that <paramref name="batch"/> is being sent on <paramref name="generation"/>; returns its wire id.</summary>
    public ulong MarkSent(int generation, PendingBatch batch)
    {
        lock (_lock)
        {
            batch.Taken = true;
            if (generation != _generation)
            {
                throw new InvalidOperationException($"generation {generation} is over (now {_generation})");
            }

            var id = ++_nextWireId;
            _wire.Add(id, batch);
            batch.Sends++;
            return id;
        }
    }

    /// <summary>
    /// Applies a result. Adds to <paramref name="emit"/> the (batch, result) pairs that may now go
    /// to the sink, in order when preserve-order is on. A result from an older generation is
    /// ignored (false).
    /// </summary>
    /// <exception cref="ProtocolViolationException">Unknown batch id, or a result count that does not match the items.</exception>
    public bool TryResolve(int generation, BatchResult result, List<(PendingBatch Batch, BatchResult Result)> emit) =>
        TryResolve(generation, result, emit, out _);

    /// <summary>
    /// As <see cref="TryResolve(int, BatchResult, List{ValueTuple{PendingBatch, BatchResult}})"/>, and gives the batch the
    /// result resolved in <paramref name="resolved"/> (also when order holds it back; null when the result was ignored).
    /// </summary>
    public bool TryResolve(int generation, BatchResult result, List<(PendingBatch Batch, BatchResult Result)> emit, out PendingBatch? resolved)
    {
        resolved = null;
        lock (_lock)
        {
            if (generation != _generation)
            {
                return false;
            }

            if (!_wire.Remove(result.BatchId, out var batch))
            {
                throw new ProtocolViolationException($"the runtime sent a result for batch {result.BatchId}, which is not in flight");
            }

            if (result.Error is { } batchError && result.Results.Count == 0)
            {
                // The runtime refused the whole batch with one error (too large, overloaded): every
                // item of the batch failed with it.
                for (var i = 0; i < batch.Items.Count; i++)
                {
                    result.Results.Add(new ItemResult { Error = batchError });
                }
            }

            if (result.Results.Count != batch.Items.Count)
            {
                throw new ProtocolViolationException(
                    $"the runtime sent {result.Results.Count} result(s) for batch {result.BatchId} of {batch.Items.Count} item(s)");
            }

            _unresolved.Remove(batch.Sequence);
            _resolved++;
            resolved = batch;
            if (!_preserveOrder)
            {
                emit.Add((batch, result));
            }
            else
            {
                _reorder.Add(batch.Sequence, (batch, result));
                while (_reorder.Remove(_nextEmit, out var next))
                {
                    emit.Add(next);
                    _nextEmit++;
                }
            }

            CheckAllResolved();
            return true;
        }
    }

    private void CheckAllResolved()
    {
        if (_sourceDone && _unresolved.Count == 0)
        {
            _allResolved.TrySetResult();
        }
    }
}

/// <summary>The runtime broke the protocol; a restart would not fix it.</summary>
internal sealed class ProtocolViolationException : Exception
{
    public ProtocolViolationException(string message) : base(message) { }
}

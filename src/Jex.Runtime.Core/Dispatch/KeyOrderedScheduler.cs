using Jex.Runtime.UserCode;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Schedules the items of one ORDERING_KEY session: items with different keys run at once, at
/// most <see cref="MaxConcurrency"/> of them over all the session's batches; items with equal key
/// bytes never overlap and run in the order they arrived, within a batch and across batches.
/// </summary>
/// <remarks>
/// Each key with an item queued or running has a <see cref="KeyChain"/>. Invariant: of a key's
/// items, at most one is in the ready queue or running; the others wait in its chain, in arrival
/// order. When that item ends, the chain's next item goes to the back of the ready queue (so a hot
/// key takes its turn with the others), or the chain is retired when it is empty.
///
/// Whoever changes the state pumps: the batch that enqueued items, and every item that ends.
/// A pumper takes ready items while a permit is free and runs each on its own thread up to the
/// item's first real await; a synchronous function therefore costs no task per item. All state
/// is under one lock, held only to move items between queues, never while user code runs.
/// </remarks>
internal sealed class KeyOrderedScheduler : IThreadPoolWorkItem
{
    // Retired chains and idle contexts kept for reuse; more than this are left to the GC.
    private const int MaxPooled = 1024;

    private readonly object _gate = new();
    private readonly Dictionary<ReadOnlyMemory<byte>, KeyChain> _chains = new(KeyBytesComparer.Instance);
    private readonly Queue<ScheduledItem> _ready = new();
    private readonly Stack<KeyChain> _freeChains = new();
    private readonly Stack<InvocationContext> _freeContexts = new();
    private readonly SessionInfo _session;
    private int _running;

    public KeyOrderedScheduler(SessionInfo session, int maxConcurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        _session = session;
        MaxConcurrency = maxConcurrency;
    }

    /// <summary>The most items running at once.</summary>
    public int MaxConcurrency { get; }

    /// <summary>Items running now (tests and diagnostics).</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>Keys with an item queued or running (tests: a drained session holds none).</summary>
    public int ActiveKeys
    {
        get
        {
            lock (_gate)
            {
                return _chains.Count;
            }
        }
    }

    /// <summary>
    /// Queues a batch's items behind earlier items with the same key. Called by the session's
    /// reader, one batch after the other in arrival order, which is what orders keys across batches.
    /// </summary>
    public void Enqueue(IKeyedBatch batch)
    {
        var count = batch.ItemCount;
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var key = batch.KeyOf(i);
                if (_chains.TryGetValue(key, out var chain))
                {
                    chain.Waiting.Enqueue(new ScheduledItem(batch, i, chain));
                    continue;
                }

                chain = _freeChains.Count > 0 ? _freeChains.Pop() : new KeyChain();
                chain.SetKey(key.Span);
                _chains.Add(chain.Key, chain);
                _ready.Enqueue(new ScheduledItem(batch, i, chain));
            }
        }
    }

    /// <summary>
    /// Runs ready items while a permit is free; returns when there is none or nothing is ready.
    /// An item that ends synchronously is completed under the same lock that takes the next one,
    /// and the pumper keeps one context for such items: a synchronous function costs one
    /// scheduler lock per item.
    /// </summary>
    public void Pump()
    {
        InvocationContext? context = null;
        KeyChain? ended = null;
        while (true)
        {
            ScheduledItem item;
            lock (_gate)
            {
                if (ended is not null)
                {
                    CompleteLocked(ended);
                    ended = null;
                }

                if (_running >= MaxConcurrency || !_ready.TryDequeue(out item))
                {
                    break;
                }

                _running++;
            }

            if (item.Batch.RunItem(item.Index, item.Chain, this, ref context))
            {
                ended = item.Chain;
            }
        }

        if (context is not null)
        {
            ReturnContext(context);
        }
    }

    /// <summary>Pumps on a thread-pool thread (a batch whose reader must not run user code).</summary>
    public void PumpOnPool() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => Pump();

    /// <summary>
    /// An item that went async ended (ran, failed, or was abandoned): its permit is free and its
    /// key's next item becomes ready. The caller pumps afterwards.
    /// </summary>
    public void Complete(KeyChain chain)
    {
        lock (_gate)
        {
            CompleteLocked(chain);
        }
    }

    private void CompleteLocked(KeyChain chain)
    {
        _running--;
        if (chain.Waiting.TryDequeue(out var next))
        {
            _ready.Enqueue(next);
            return;
        }

        _chains.Remove(chain.Key);
        chain.Clear();
        if (_freeChains.Count < MaxPooled)
        {
            _freeChains.Push(chain);
        }
    }

    /// <summary>A context for one item's call; give it back with <see cref="ReturnContext"/> unless the call was abandoned.</summary>
    public InvocationContext RentContext(ILogger logger, long batchId, CancellationToken token)
    {
        InvocationContext? context = null;
        lock (_gate)
        {
            _freeContexts.TryPop(out context);
        }

        if (context is null)
        {
            return new InvocationContext(_session, logger, batchId, token);
        }

        context.Retarget(logger, batchId, token);
        return context;
    }

    public void ReturnContext(InvocationContext context)
    {
        if (context.IsAbandoned)
        {
            // A call abandoned at its deadline may still write to it.
            return;
        }

        lock (_gate)
        {
            if (_freeContexts.Count < MaxPooled)
            {
                _freeContexts.Push(context);
                return;
            }
        }

        context.Dispose();
    }
}

/// <summary>A batch as the scheduler sees it: items with keys, run one at a time by index.</summary>
internal interface IKeyedBatch
{
    int ItemCount { get; }

    /// <summary>The raw key bytes of an item, as received; valid while the item is unresolved.</summary>
    ReadOnlyMemory<byte> KeyOf(int index);

    /// <summary>
    /// Runs item <paramref name="index"/> (or skips it when its batch has stopped). True when the
    /// item ended before this returned (the pumper completes it); false when its call went async,
    /// and then whoever ends it calls <see cref="KeyOrderedScheduler.Complete"/> and
    /// <see cref="KeyOrderedScheduler.Pump"/>. <paramref name="context"/> is the pumper's context
    /// (rented when null); an item that goes async takes it along and leaves null.
    /// </summary>
    bool RunItem(int index, KeyChain chain, KeyOrderedScheduler scheduler, ref InvocationContext? context);
}

/// <summary>An item waiting its turn: its batch, its position there, and its key's chain.</summary>
internal readonly record struct ScheduledItem(IKeyedBatch Batch, int Index, KeyChain Chain);

/// <summary>
/// The items of one key waiting behind the one that is ready or running. The key is copied into
/// the chain's own buffer (reused when the chain is), because the batch that first brought the
/// key may be answered and its buffer returned while later items of the key still wait.
/// </summary>
internal sealed class KeyChain
{
    private byte[] _key = new byte[32];

    public Queue<ScheduledItem> Waiting { get; } = new();

    public ReadOnlyMemory<byte> Key { get; private set; }

    public void SetKey(ReadOnlySpan<byte> key)
    {
        if (key.Length > _key.Length)
        {
            _key = new byte[Math.Max(key.Length, _key.Length * 2)];
        }

        key.CopyTo(_key);
        Key = _key.AsMemory(0, key.Length);
    }

    public void Clear()
    {
        Waiting.Clear();
        Key = default;
        if (_key.Length > 1024)
        {
            // A rare huge key is not kept alive by a pooled chain.
            _key = new byte[32];
        }
    }
}

/// <summary>Equal keys are equal bytes; the hash reads the bytes in place.</summary>
internal sealed class KeyBytesComparer : IEqualityComparer<ReadOnlyMemory<byte>>
{
    public static readonly KeyBytesComparer Instance = new();

    public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

    public int GetHashCode(ReadOnlyMemory<byte> key)
    {
        var hash = default(HashCode);
        hash.AddBytes(key.Span);
        return hash.ToHashCode();
    }
}

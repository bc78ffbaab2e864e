using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;
using Jex.Runtime.Diagnostics;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// A batch of an ORDERING_KEY session: its items go to the session's <see cref="KeyOrderedScheduler"/>
/// and may finish in any order; each one's result is kept at its index, and the batch answers
/// once every item is resolved (ran, failed, or was stopped by cancel, deadline or the session's
/// end), with the results in input order, as a batch-ordered run does.
/// </summary>
internal sealed partial class BatchRun : IKeyedBatch
{
    private const byte ItemPending = 0;
    private const byte ItemRunning = 1;
    private const byte ItemResolved = 2;

    // Set by StartKeyed, and only for a key-ordered batch: a batch-ordered one (every batch of most
    // sessions) does not carry these fields.
    private KeyedState? _keyed;

    private KeyedState Keyed => _keyed!;

    public int ItemCount => _batch.ItemCount;

    public ReadOnlyMemory<byte> KeyOf(int index)
    {
        ref readonly var item = ref _batch.Items[index];
        return _batch.Slice(item.KeyStart, item.KeyLength);
    }

    /// <summary>
    /// Queues the items (now, on the calling thread: that is what keeps arrival order across
    /// batches) and pumps, on this thread when <paramref name="inline"/>, else on the pool.
    /// </summary>
    private Task StartKeyed(KeyOrderedScheduler scheduler, bool inline)
    {
        var count = _batch.ItemCount;
        _keyed = new KeyedState();
        _keyed.Results = new KeyedResults(count, _batch.BatchBytes, _context.MaxMessageBytes);
        Keyed.ItemStates = ArrayPool<byte>.Shared.Rent(Math.Max(count, 1));
        Keyed.ItemStates.AsSpan(0, count).Clear();
        Keyed.Unresolved = count;
        // The batch's Activity (when something listens) starts before any item runs, and is not
        // left current on this thread: the items run on the scheduler's pumps, outside the batch's
        // own flow, so their logger carries its ids instead; FinishKeyedAsync makes it current
        // for the batch's continuation.
        var caller = Activity.Current;
        Keyed.Activity = RuntimeActivity.StartBatch(_batch, _context.FunctionName);
        if (Keyed.Activity is not null)
        {
            Activity.Current = caller;
        }

        Keyed.Logger = new ForwardingLogger(_context.UserLogger, _context.UserCategory, _context.Writer, _context.ForwardLevel, Id, Keyed.Activity);

        // Continuations on the pool: the last item may end inside a cancellation callback or on a
        // thread that holds the scheduler's pump; the answer is sent from elsewhere.
        Keyed.AllResolved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (count == 0)
        {
            Keyed.AllResolved.TrySetResult();
        }
        else
        {
            scheduler.Enqueue(this);
            Keyed.StopRegistration = _cts.Token.UnsafeRegister(static s => ((BatchRun)s!).StopKeyed(), this);
            if (inline)
            {
                scheduler.Pump();
            }
            else
            {
                scheduler.PumpOnPool();
            }
        }

        return FinishKeyedAsync();
    }

    bool IKeyedBatch.RunItem(int index, KeyChain chain, KeyOrderedScheduler scheduler, ref InvocationContext? context)
    {
        var results = Keyed.Results;
        bool run;
        lock (results)
        {
            // Stopped first: a batch answered already has stopped items only, and its state
            // array may be back in the pool. A cancelled token whose StopKeyed has not run yet
            // (cancellation callbacks run one after another) leaves the item to StopKeyed.
            run = !Keyed.Stopped && !_cts.IsCancellationRequested && Keyed.ItemStates[index] == ItemPending;
            if (run)
            {
                Keyed.ItemStates[index] = ItemRunning;
            }
        }

        if (!run)
        {
            return true;
        }

        // Set until the batch ends, and the batch cannot end while this item is running.
        var invoker = _binding!.Invoker;
        var token = _cts.Token;
        if (context is null)
        {
            context = scheduler.RentContext(Keyed.Logger, (long)Id, token);
        }
        else
        {
            context.Retarget(Keyed.Logger, (long)Id, token);
        }

        context.MoveTo(_batch, _batch.Items[index]);
        ValueTask call;
        try
        {
            call = invoker.InvokeAsync(context);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            ResolveFailed(index, e, token);
            return true;
        }

        if (call.IsCompletedSuccessfully)
        {
            ResolveOk(index, context);
            return true;
        }

        _ = AwaitItemAsync(call.AsTask(), index, chain, context, scheduler, token);
        context = null;
        return false;
    }

    /// <summary>Waits for an item that awaits; catches everything, so nobody needs to observe it.</summary>
    private async Task AwaitItemAsync(Task call, int index, KeyChain chain, InvocationContext context, KeyOrderedScheduler scheduler, CancellationToken token)
    {
        try
        {
            // A call that outlives the deadline is abandoned, not awaited, as in a batch-ordered run.
            await call.WaitAsync(token).ConfigureAwait(false);
            ResolveOk(index, context);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && !call.IsCompleted)
        {
            context.Abandon();
            lock (Keyed.Results)
            {
                Keyed.AnyAbandoned = true;
            }

            ObserveAbandoned(call);
            _session.OnAbandoned(this, call, _batch.Length);
            ResolveStopped(index);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            ResolveFailed(index, e, token);
        }
        finally
        {
            scheduler.ReturnContext(context);
            scheduler.Complete(chain);
            scheduler.Pump();
        }
    }

    private void ResolveOk(int index, InvocationContext context)
    {
        bool last;
        lock (Keyed.Results)
        {
            Keyed.Results.AddOk(index, context.Outputs);
            if (context.Outputs.IsEmpty)
            {
                Keyed.Filtered++;
            }

            last = MarkResolved(index);
        }

        if (last)
        {
            Keyed.AllResolved.TrySetResult();
        }
    }

    private void ResolveFailed(int index, Exception e, CancellationToken token)
    {
        if (e is OperationCanceledException && token.IsCancellationRequested)
        {
            ResolveStopped(index);
            return;
        }

        Log.ItemFailed(_context.Logger, e, _context.Id, index, Id);
        var error = ToItemError(e);
        _context.Metrics?.ItemsFailed(error.Code, 1);
        var encoded = new ItemResult { Error = error }.ToByteArray();
        bool last;
        lock (Keyed.Results)
        {
            Keyed.Results.AddEncoded(index, encoded);
            Keyed.Errors++;
            last = MarkResolved(index);
        }

        if (last)
        {
            Keyed.AllResolved.TrySetResult();
        }
    }

    private void ResolveStopped(int index)
    {
        bool last;
        lock (Keyed.Results)
        {
            Keyed.Results.MarkStopped(index);
            last = MarkResolved(index);
        }

        if (last)
        {
            Keyed.AllResolved.TrySetResult();
        }
    }

    /// <summary>Under the lock. True when this was the batch's last unresolved item.</summary>
    private bool MarkResolved(int index)
    {
        Keyed.ItemStates[index] = ItemResolved;
        return --Keyed.Unresolved == 0;
    }

    /// <summary>Cancel, deadline or the session's end: items not started yet will not run.</summary>
    private void StopKeyed()
    {
        bool last;
        lock (Keyed.Results)
        {
            if (Keyed.Stopped || Keyed.Unresolved == 0)
            {
                return;
            }

            Keyed.Stopped = true;
            for (var i = 0; i < _batch.ItemCount; i++)
            {
                if (Keyed.ItemStates[i] == ItemPending)
                {
                    Keyed.Results.MarkStopped(i);
                    Keyed.ItemStates[i] = ItemResolved;
                    Keyed.Unresolved--;
                }
            }

            last = Keyed.Unresolved == 0;
        }

        if (last)
        {
            Keyed.AllResolved.TrySetResult();
        }
    }

    private async Task FinishKeyedAsync()
    {
        var count = _batch.ItemCount;
        var batchId = Id;
        var maxMessageBytes = _context.MaxMessageBytes;
        var inFlightHandedOver = false;
        var errors = 0;
        var filtered = 0;
        long elapsedUs = long.MaxValue;
        BatchResultWriter? result = null;
        // Current here, in this async method, so it changes for the batch's own continuation only.
        if (Keyed.Activity is not null)
        {
            Activity.Current = Keyed.Activity;
        }

        try
        {
            await Keyed.AllResolved.Task.ConfigureAwait(false);
            elapsedUs = (long)Stopwatch.GetElapsedTime(Started).Ticks / 10;
            result = new BatchResultWriter(batchId, Keyed.Results.Size, maxMessageBytes, count);
            int stopped;
            lock (Keyed.Results)
            {
                stopped = Keyed.Results.WriteTo(result, Keyed.Results.StoppedCount > 0 ? StoppedItem().ToByteArray() : []);
                errors = Keyed.Errors + stopped;
                filtered = Keyed.Filtered;
            }

            if (stopped > 0)
            {
                var code = StoppedItem().Error.Code;
                _context.Metrics?.ItemsFailed(code, stopped);
                Log.BatchStopped(_context.Logger, _context.Id, Id, code.ToString(), stopped);
            }

            if (result.TooLargeCount > 0)
            {
                errors += result.TooLargeCount;
                _context.Metrics?.ItemsFailed(ItemError.Types.Code.ResultTooLarge, result.TooLargeCount);
                Log.ResultTooLarge(_context.Logger, _context.Id, _context.FunctionName, batchId, result.TooLargeCount, maxMessageBytes);
            }

            var encoded = result.Finish((ulong)elapsedUs, _binding!.Code.VersionIdUtf8);
            result = null;
            if (encoded.Length > maxMessageBytes)
            {
                Log.ResultTooLarge(_context.Logger, _context.Id, _context.FunctionName, batchId, count, maxMessageBytes);
                encoded.Release();
                _context.Metrics?.ItemsFailed(ItemError.Types.Code.ResultTooLarge, count - errors);
                errors = count;
                encoded = WholeResultTooLarge(batchId, elapsedUs, _binding!.VersionId, maxMessageBytes);
            }

            encoded.HoldsInFlight = true;
            inFlightHandedOver = true;
            await SendAsync(encoded).ConfigureAwait(false);
        }
        catch
        {
            result?.Discard();
            throw;
        }
        finally
        {
            await Keyed.StopRegistration.DisposeAsync().ConfigureAwait(false);
            bool anyAbandoned;
            lock (Keyed.Results)
            {
                // Queued items of this batch still to come see Stopped, or none is left.
                Keyed.Stopped = true;
                anyAbandoned = Keyed.AnyAbandoned;
                ArrayPool<byte>.Shared.Return(Keyed.ItemStates);
                Keyed.ItemStates = null!;
                Keyed.Results.Release();
            }

            _cts.Dispose();
            _deadline?.Dispose();
            if (!anyAbandoned)
            {
                // An abandoned call may still read its item: that buffer is left to the GC.
                _batch.Release();
            }

            if (!inFlightHandedOver)
            {
                _context.InFlight.Release();
            }

            _context.Metrics?.BatchFinished(count, errors, filtered, elapsedUs);
            if (Keyed.Activity is { } activity)
            {
                RuntimeActivity.StopBatch(activity, errors);
            }

            _session.OnBatchDone(this, count, errors, elapsedUs);
            var binding = _binding!;
            _binding = null;
            binding.Exit();
        }
    }
}

/// <summary>
/// One keyed batch's item results, kept by index as they finish in any order: each encoded as
/// the ItemResult bytes <see cref="BatchResultWriter"/> would write, in one pooled buffer, then
/// copied into the result in input order. Not thread-safe: the batch locks it.
/// </summary>
internal sealed class KeyedResults
{
    private const int Stopped = -1;
    private const int TooLarge = -2;

    private readonly int _count;
    private readonly long _maxItemBytes;
    private byte[] _buffer;
    private int[] _starts;
    private int[] _lengths;
    private int _pos;

    public KeyedResults(int count, int sizeHint, int maxMessageBytes)
    {
        _count = count;
        _maxItemBytes = maxMessageBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, sizeHint + 64));
        _starts = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        _lengths = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
    }

    /// <summary>Bytes of item results kept so far: a size hint for the batch's result.</summary>
    public int Size => _pos + (_count * 2);

    /// <summary>Keeps <c>ItemResult { ok: Outputs { outputs } }</c> for item <paramref name="index"/>.</summary>
    public void AddOk(int index, ReadOnlySpan<PendingOutput> outputs)
    {
        long total = 0;
        foreach (ref readonly var output in outputs)
        {
            total += ProtoWire.DelimitedSize(output.Size);
        }

        if (total + 6 > _maxItemBytes)
        {
            // The batch's writer would refuse it anyway: it gets CODE_RESULT_TOO_LARGE there.
            _lengths[index] = TooLarge;
            return;
        }

        var outputsSize = (int)total;
        var itemSize = ProtoWire.DelimitedSize(outputsSize);
        BatchResultWriter.WriteOk(Reserve(itemSize).Span, 0, outputs, outputsSize);
        Commit(index, itemSize);
    }

    /// <summary>Keeps an encoded ItemResult (an error) for item <paramref name="index"/>.</summary>
    public void AddEncoded(int index, ReadOnlySpan<byte> itemResult)
    {
        itemResult.CopyTo(Reserve(itemResult.Length).Span);
        Commit(index, itemResult.Length);
    }

    /// <summary>Items that will not run (or were abandoned): each gets the batch's stop error.</summary>
    public int StoppedCount { get; private set; }

    public void MarkStopped(int index)
    {
        _lengths[index] = Stopped;
        StoppedCount++;
    }

    /// <summary>Writes every item's result in input order; returns how many were stopped.</summary>
    public int WriteTo(BatchResultWriter result, ReadOnlySpan<byte> stoppedItem)
    {
        var stopped = 0;
        for (var i = 0; i < _count; i++)
        {
            switch (_lengths[i])
            {
                case Stopped:
                    result.AddEncoded(stoppedItem);
                    stopped++;
                    break;
                case TooLarge:
                    result.AddTooLarge(1);
                    break;
                case var length:
                    result.AddEncoded(_buffer.AsSpan(_starts[i], length));
                    break;
            }
        }

        return stopped;
    }

    public void Release()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            ArrayPool<int>.Shared.Return(_starts);
            ArrayPool<int>.Shared.Return(_lengths);
            _buffer = [];
            _starts = [];
            _lengths = [];
        }
    }

    private Memory<byte> Reserve(int length)
    {
        if (_buffer.Length - _pos < length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_buffer.Length * 2, _pos + length)));
            _buffer.AsSpan(0, _pos).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsMemory(_pos, length);
    }

    private void Commit(int index, int length)
    {
        _starts[index] = _pos;
        _lengths[index] = length;
        _pos += length;
    }
}

/// <summary>A key-ordered batch's own state; <see cref="Results"/> is also its lock.</summary>
internal sealed class KeyedState
{
    public KeyedResults Results = null!;
    public byte[] ItemStates = null!;
    public ForwardingLogger Logger = null!;

    /// <summary>The batch's Activity; null when nothing listens to Jex.Runtime.</summary>
    public Activity? Activity;
    public TaskCompletionSource AllResolved = null!;
    public CancellationTokenRegistration StopRegistration;
    public int Unresolved;
    public bool Stopped;
    public bool AnyAbandoned;
    public int Errors;
    public int Filtered;
}

using System.Collections.Concurrent;
using System.Threading.Channels;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// One session: after the handshake (<see cref="SessionHandshake"/>), one reader handles member
/// messages in order; batches admitted by <see cref="BatchAdmission"/> run concurrently as
/// <see cref="BatchRun"/>s; every runtime message leaves through the <see cref="SessionWriter"/>.
/// </summary>
internal sealed class Session
{
    /// <summary>A batch runs on the reading thread while the session's last batch took less than this (see <see cref="RunInline"/>).</summary>
    private const long InlineMaxMicros = 50;

    private readonly SessionProcessor _processor;
    private readonly long _id;
    private readonly ISessionOutput _output;
    private readonly CancellationToken _runtimeStopping;
    private readonly CancellationTokenSource _sessionCts;
    private readonly SessionHandshake _handshake;
    private readonly ConcurrentDictionary<ulong, BatchRun> _running = new();
    private readonly object _gate = new();

    // The first batch runs on the pool: a function is inlined only once a batch showed it is fast.
    private long _recentBatchMicros = InlineMaxMicros;

    private readonly TaskCompletionSource _drainRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set once, at Init; null until then.
    private SessionContext? _context;
    private BatchAdmission _admission = null!;
    private SessionReader? _reader;
    private int _abandonedCalls;
    private bool _draining;
    private long _batches;
    private long _items;
    private long _errors;

    // The activation the session's last batch ran on (reader only); a batch on a later one waits for the session's batches in flight.
    private long _lastGeneration;

    public Session(SessionProcessor processor, long id, ISessionOutput output, CancellationToken transportToken, CancellationToken runtimeStopping)
    {
        _processor = processor;
        _id = id;
        _output = output;
        _runtimeStopping = runtimeStopping;
        _sessionCts = CancellationTokenSource.CreateLinkedTokenSource(transportToken);
        _handshake = new SessionHandshake(processor, id, _sessionCts);
    }

    internal long Id => _id;

    internal ILogger Logger => _processor.Logger;

    /// <summary>The session's function; set once Init is accepted, which is before any batch runs.</summary>
    internal string FunctionName => Context.FunctionName;

    /// <summary>Calls of this session abandoned at their deadline and still running.</summary>
    internal int AbandonedCalls => Volatile.Read(ref _abandonedCalls);

    /// <summary>The batches running now, for the stuck-call watchdog.</summary>
    internal ICollection<BatchRun> Running => _running.Values;

    private SessionContext Context => _context!;

    private SessionWriter Writer => Context.Writer;

    public async Task RunAsync(IAsyncEnumerable<MemberMessageBuffer> incoming)
    {
        var enumerator = incoming.GetAsyncEnumerator(_sessionCts.Token);
        Task? readTask = null;
        Task? writerTask = null;
        try
        {
            var init = await _handshake.ReadInitAsync(enumerator).ConfigureAwait(false);
            if (init is null)
            {
                return;
            }

            _context = _handshake.Accept(init, _output);
            _admission = new BatchAdmission(_context, _processor.Options);

            // Nothing is queued yet, so Ready is written before the writer loop starts.
            await Writer.SendAsync(RuntimeMessageBuffer.From(new RuntimeMessage { Ready = _handshake.BuildReady(_context) })).ConfigureAwait(false);
            writerTask = Writer.RunAsync(_sessionCts.Token);
            var reader = new SessionReader(this, _context, _handshake, enumerator, inline: incoming is IInlineSource);
            using (_runtimeStopping.Register(() => RequestDrain()))
            {
                // An inline source is read on the calling thread until the loop first waits on
                // something other than the source: the source ends its reads when the runtime stops.
                Volatile.Write(ref _reader, reader);
                readTask = reader.StartAsync();
                await Task.WhenAny(reader.Done, _drainRequested.Task, writerTask).ConfigureAwait(false);
            }

            // The member ended its stream, asked to drain, or the runtime is stopping: let the
            // batches we accepted finish, then say so.
            BatchRun[] inFlight;
            lock (_gate)
            {
                _draining = true;
                inFlight = [.. _running.Values];
            }

            await Task.WhenAll(inFlight.Select(b => b.Completion)).ConfigureAwait(false);
            if (_drainRequested.Task.IsCompleted)
            {
                await Writer.SendAsync(RuntimeMessageBuffer.From(new RuntimeMessage
                {
                    Drained = new Drained { Batches = (ulong)Interlocked.Read(ref _batches), Items = (ulong)Interlocked.Read(ref _items) },
                })).ConfigureAwait(false);
            }

            Writer.Complete();
            await writerTask.ConfigureAwait(false);
            if (reader.Done.IsFaulted)
            {
                await reader.Done.ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsPeerGone(e))
        {
            Log.PeerGone(Logger, _id, e.Message);
        }
        finally
        {
            await _sessionCts.CancelAsync().ConfigureAwait(false);
            _context?.Writer.Complete();
            await ObserveAsync(readTask).ConfigureAwait(false);
            foreach (var rescue in _reader?.RescueReaders ?? [])
            {
                await ObserveAsync(rescue).ConfigureAwait(false);
            }

            await ObserveAsync(writerTask).ConfigureAwait(false);
            foreach (var run in _running.Values)
            {
                await ObserveAsync(run.Completion).ConfigureAwait(false);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
            _context?.InFlight.Dispose();
            _context?.Code.Release();
            _sessionCts.Dispose();
            if (_context is { } context)
            {
                if (context.Writer.LogsDropped is > 0 and var dropped)
                {
                    Log.LogsDropped(Logger, _id, context.FunctionName, dropped, SessionWriter.DefaultCapacity);
                }

                Log.SessionEnded(Logger, _id, Interlocked.Read(ref _batches), Interlocked.Read(ref _items), Interlocked.Read(ref _errors));
            }
        }
    }

    private bool IsPeerGone(Exception e) =>
        e is OperationCanceledException or ChannelClosedException or IOException
        || (e is InvalidOperationException && _sessionCts.IsCancellationRequested);

    private static async Task ObserveAsync(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            // The session is over; its parts' failures were already reported or are the peer leaving.
        }
    }

    /// <summary>Handles a member message other than a batch, in the order the reader read it.</summary>
    internal async Task OnMessageAsync(MemberMessage message)
    {
        switch (message.KindCase)
        {
            case MemberMessage.KindOneofCase.Cancel:
                if (_running.TryGetValue(message.Cancel.BatchId, out var run))
                {
                    run.CancelByMember();
                }

                break;
            case MemberMessage.KindOneofCase.Ping:
                await Writer.SendAsync(RuntimeMessageBuffer.From(new RuntimeMessage
                {
                    Pong = new Pong { Nonce = message.Ping.Nonce, Stats = _processor.Counters.Snapshot() },
                })).ConfigureAwait(false);
                break;
            case MemberMessage.KindOneofCase.Schemas:
                await OnSchemasAsync(message.Schemas).ConfigureAwait(false);
                break;
            case MemberMessage.KindOneofCase.Drain:
                RequestDrain();
                break;
            case MemberMessage.KindOneofCase.Init:
                await ProtocolErrorAsync(ProtocolError.Types.Code.DuplicateInit, "Init was already received; a session has exactly one", null).ConfigureAwait(false);
                break;
            default:
                await ProtocolErrorAsync(ProtocolError.Types.Code.EmptyMessage, "a MemberMessage with no field set was received", null).ConfigureAwait(false);
                break;
        }
    }

    private void RequestDrain() => _drainRequested.TrySetResult();

    /// <summary>Takes a batch's message buffer; it is released here unless a BatchRun takes it over.</summary>
    internal async Task OnBatchAsync(MemberMessageBuffer batch)
    {
        var started = false;
        try
        {
            started = await TryStartBatchAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            if (!started)
            {
                batch.Release();
            }
        }
    }

    private async Task<bool> TryStartBatchAsync(MemberMessageBuffer batch)
    {
        bool draining;
        lock (_gate)
        {
            draining = _draining || _drainRequested.Task.IsCompleted;
        }

        var verdict = _admission.Admit(batch, draining, AbandonedCalls, _processor.AbandonedCalls);
        switch (verdict.Outcome)
        {
            case AdmissionOutcome.ProtocolError:
                await ProtocolErrorAsync(verdict.ErrorCode, verdict.Reason, verdict.BatchId).ConfigureAwait(false);
                return false;
            case AdmissionOutcome.Refused:
                await RefuseBatchAsync(batch, verdict.RefusalCode, verdict.Reason).ConfigureAwait(false);
                return false;
        }

        var binding = Context.Code.Enter();
        if (binding is null)
        {
            Context.InFlight.Release();
            await RefuseBatchAsync(batch, ItemError.Types.Code.Unspecified,
                $"function '{FunctionName}' is not in the current code version; the session cannot go on: open a new one").ConfigureAwait(false);
            return false;
        }

        if (binding.Code.Generation != _lastGeneration)
        {
            await SwitchAsync(binding.Code.Generation).ConfigureAwait(false);
        }

        var run = new BatchRun(Context, this, batch, binding);
        lock (_gate)
        {
            _running[batch.BatchId] = run;
        }

        _processor.Counters.BatchStarted();
        _processor.ArmWatchdog();
        if (!RunInline(batch.ItemCount))
        {
            run.Start(inline: false);
            return true;
        }

        if (_reader!.Inline)
        {
            run.Start(inline: true);
        }
        else
        {
            // Inline on a socket reader: if the batch blocks this thread, the watchdog hands the
            // reading to another thread, so Ping and Cancel are still served.
            _reader.RunMarked(run);
        }

        return true;
    }

    /// <summary>
    /// The session's next batch runs on newer code than its last one: it starts only once every
    /// batch of the session still running on older code has finished (its result sent), so the
    /// session never runs two versions at once and its batches' versions follow their order.
    /// </summary>
    private async Task SwitchAsync(long generation)
    {
        if (_lastGeneration != 0)
        {
            BatchRun[] older;
            lock (_gate)
            {
                older = [.. _running.Values];
            }

            if (older.Length > 0)
            {
                await Task.WhenAll(older.Select(static r => r.Completion)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        _lastGeneration = generation;
    }

    /// <summary>
    /// Answers a batch none of whose items ran with one batch-level error: its size does not grow
    /// with the batch's items, and the member counts every item as failed.
    /// </summary>
    private async Task RefuseBatchAsync(MemberMessageBuffer batch, ItemError.Types.Code code, string reason)
    {
        Log.BatchRefused(Logger, _id, batch.BatchId, code.ToString(), batch.ItemCount, reason);
        Interlocked.Add(ref _errors, batch.ItemCount);
        var result = new BatchResult
        {
            BatchId = batch.BatchId,
            Error = new ItemError { Code = code, Type = "Jex." + code, Message = reason },
        };
        await Writer.SendAsync(RuntimeMessageBuffer.From(new RuntimeMessage { Result = result })).ConfigureAwait(false);
    }

    private async Task OnSchemasAsync(Schemas schemas)
    {
        if (Context.Info.Format is not { } format)
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.BadSchema,
                "a Schemas message was received, but this runtime has no format that takes schemas; send Schemas only when Ready lists the 'compact' capability", null).ConfigureAwait(false);
            return;
        }

        try
        {
            format.AcceptSchemas(schemas);
        }
        catch (PayloadBindingException e)
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.BadSchema, e.Message, null).ConfigureAwait(false);
        }
    }

    private async Task ProtocolErrorAsync(ProtocolError.Types.Code code, string reason, ulong? batchId)
    {
        Log.ProtocolError(Logger, _id, code.ToString(), reason);
        var error = new ProtocolError { Code = code, Message = reason };
        if (batchId is { } b)
        {
            error.BatchId = b;
        }

        await Writer.SendAsync(RuntimeMessageBuffer.From(new RuntimeMessage { Error = error })).ConfigureAwait(false);
    }

    /// <summary>
    /// A batch of a fast function runs on the thread that read it, up to its first real await:
    /// handing a small batch to the thread pool and back costs more than running it (figures in
    /// docs/performance.md). Once a batch takes longer, the next ones run on the pool, so the
    /// reader stays free for the next batch and for Cancel, and batches of a slow function overlap.
    /// The estimate is the session's last batch's time; the first batch always runs on the pool.
    /// Only a thread-pool thread or a shared-memory slot's own thread qualifies. Kestrel hands gRPC
    /// messages over on pool threads, so there the check always passes; it is kept for sources that
    /// complete reads on a thread of their own (an I/O or timer thread), where a function blocking
    /// on other I/O (sync over async) could wait for completions that need the very thread it holds.
    /// </summary>
    private bool RunInline(int items) =>
        items > 0
        && Volatile.Read(ref _recentBatchMicros) < InlineMaxMicros
        && (_reader!.Inline || Thread.CurrentThread.IsThreadPoolThread);

    internal void OnBatchDone(BatchRun run, int items, int errors, long elapsedMicros)
    {
        Volatile.Write(ref _recentBatchMicros, elapsedMicros);

        lock (_gate)
        {
            _running.TryRemove(run.Id, out _);
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _errors, errors);
        _processor.Counters.BatchFinished(items, errors);
    }

    /// <summary>Called by the watchdog: see <see cref="SessionReader.Rescue"/>.</summary>
    internal void RescueReader(long now, TimeSpan after) => Volatile.Read(ref _reader)?.Rescue(now, after);

    /// <summary>A call of this session was abandoned at its deadline while still running.</summary>
    internal void OnAbandoned(BatchRun run, Task call, int heldBytes)
    {
        Interlocked.Increment(ref _abandonedCalls);
        _processor.OnAbandoned(this, run, call, heldBytes, () => Interlocked.Decrement(ref _abandonedCalls));
    }
}

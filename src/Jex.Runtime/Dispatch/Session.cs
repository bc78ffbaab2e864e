using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;
using StatusCode = Grpc.Core.StatusCode;
using Jex.Protocol.Wire;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// One session's state. One reader loop handles member messages in order; batches run
/// concurrently, at most <c>max_in_flight</c> at once; every runtime message goes through one
/// bounded channel drained by one writer, whose bound is the back-pressure on user code.
/// </summary>
internal sealed class Session
{
    private const int OutputCapacity = 256;

    /// <summary>A batch runs on the reading thread while the session's last batch took less than this (see <see cref="RunInline"/>).</summary>
    private const long InlineMaxMicros = 50;

    private readonly SessionProcessor _processor;
    private readonly long _id;
    private readonly ISessionOutput _output;
    private readonly CancellationToken _runtimeStopping;
    private readonly CancellationTokenSource _sessionCts;
    private readonly Channel<RuntimeFrame> _channel = Channel.CreateBounded<RuntimeFrame>(
        new BoundedChannelOptions(OutputCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ConcurrentDictionary<ulong, BatchRun> _running = new();
    private readonly object _gate = new();

    // Held by whoever writes to the transport: the writer loop, or a batch writing its own result
    // when nothing is queued (no hand-off to the writer task on the fast path).
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    // The first batch runs on the pool: a function is inlined only once a batch showed it is fast.
    private long _recentBatchMicros = InlineMaxMicros;

    // The source is read on its own dedicated thread (shared memory), where user code may run.
    private bool _readsInline;

    // The reader baton (see RescueReader): who reads the source is the reader of the current epoch.
    private readonly object _readerGate = new();
    private readonly ConcurrentBag<Task> _rescueReaders = [];
    private readonly TaskCompletionSource _readDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IAsyncEnumerator<MemberFrame>? _enumerator;
    private int _readerEpoch;
    private long _inlineSince;
    private readonly TaskCompletionSource _drainRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SemaphoreSlim _slots = null!;
    private FunctionDescriptor _function = null!;
    private SessionInfo _info = null!;
    private Microsoft.Extensions.Logging.LogLevel _forwardLevel;
    private int _maxBatchBytes;
    private int _maxBatchItems;
    private int _maxInFlight;
    private int _abandonedCalls;
    private ulong? _lastBatchId;
    private bool _draining;
    private long _batches;
    private long _items;
    private long _errors;

    public Session(SessionProcessor processor, long id, ISessionOutput output, CancellationToken transportToken, CancellationToken runtimeStopping)
    {
        _processor = processor;
        _id = id;
        _output = output;
        _runtimeStopping = runtimeStopping;
        _sessionCts = CancellationTokenSource.CreateLinkedTokenSource(transportToken);
    }

    internal long Id => _id;

    internal SessionInfo Info => _info;

    internal FunctionDescriptor Function => _function;

    internal CancellationToken Token => _sessionCts.Token;

    internal ILogger Logger => _processor.Logger;

    internal Microsoft.Extensions.Logging.LogLevel ForwardLevel => _forwardLevel;

    internal ChannelWriter<RuntimeFrame> Writer => _channel.Writer;

    internal ILogger UserLogger { get; private set; } = null!;

    /// <summary>The largest message the session may send (UserCode:MaxMessageBytes).</summary>
    internal int MaxMessageBytes => _processor.Options.MaxMessageBytes;

    /// <summary>Calls of this session abandoned at their deadline and still running.</summary>
    internal int AbandonedCalls => Volatile.Read(ref _abandonedCalls);

    /// <summary>The batches running now, for the stuck-call watchdog.</summary>
    internal ICollection<BatchRun> Running => _running.Values;

    /// <summary>The user logger's category, made once per session rather than once per batch.</summary>
    internal string UserCategory { get; private set; } = "UserCode";

    public async Task RunAsync(IAsyncEnumerable<MemberFrame> incoming)
    {
        var enumerator = incoming.GetAsyncEnumerator(_sessionCts.Token);
        Task? readTask = null;
        Task? writerTask = null;
        try
        {
            var first = await ReadInitAsync(enumerator).ConfigureAwait(false);
            if (first is null)
            {
                return;
            }

            Start(first);
            var ready = RuntimeFrame.From(new RuntimeMessage { Ready = BuildReady() });
            try
            {
                await _output.WriteAsync(ready, moreFollows: false, _sessionCts.Token).ConfigureAwait(false);
            }
            finally
            {
                ready.Release();
            }

            writerTask = WriteLoopAsync();
            using (_runtimeStopping.Register(() => RequestDrain()))
            {
                // With an inline source this runs on the calling thread until the loop first waits
                // on something other than the source (or ends): the source is then responsible for
                // ending its reads when the runtime stops.
                _enumerator = enumerator;
                readTask = ReadLoopAsync(enumerator, _readsInline = incoming is IInlineSource, 0);
                await Task.WhenAny(_readDone.Task, _drainRequested.Task, writerTask).ConfigureAwait(false);
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
                await Writer.WriteAsync(RuntimeFrame.From(new RuntimeMessage
                {
                    Drained = new Drained { Batches = (ulong)Interlocked.Read(ref _batches), Items = (ulong)Interlocked.Read(ref _items) },
                })).ConfigureAwait(false);
            }

            Writer.TryComplete();
            await writerTask.ConfigureAwait(false);
            if (_readDone.Task.IsFaulted)
            {
                await _readDone.Task.ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsPeerGone(e))
        {
            Log.PeerGone(Logger, _id, e.Message);
        }
        finally
        {
            await _sessionCts.CancelAsync().ConfigureAwait(false);
            Writer.TryComplete();
            await ObserveAsync(readTask).ConfigureAwait(false);
            foreach (var rescue in _rescueReaders)
            {
                await ObserveAsync(rescue).ConfigureAwait(false);
            }

            await ObserveAsync(writerTask).ConfigureAwait(false);
            foreach (var run in _running.Values)
            {
                await ObserveAsync(run.Completion).ConfigureAwait(false);
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
            _slots?.Dispose();
            _sessionCts.Dispose();
            if (_info is not null)
            {
                Log.SessionEnded(Logger, _id, Interlocked.Read(ref _batches), Interlocked.Read(ref _items), Interlocked.Read(ref _errors));
            }
        }
    }

    /// <summary>
    /// Reads the first message, which must be an Init, spending on anything else no more than
    /// its first tag: a session that has not authenticated gets no parsing, no item array and no
    /// time beyond UserCode:InitTimeoutSeconds. Null when the stream ended first.
    /// </summary>
    private async Task<Init?> ReadInitAsync(IAsyncEnumerator<MemberFrame> enumerator)
    {
        var options = _processor.Options;
        var timeout = TimeSpan.FromSeconds(options.InitTimeoutSeconds);
        using var initTimer = new CancellationTokenSource(timeout);
        bool received;
        using (initTimer.Token.Register(static s => ((CancellationTokenSource)s!).Cancel(), _sessionCts))
        {
            try
            {
                received = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (initTimer.IsCancellationRequested && e is not SessionRejectedException)
            {
                received = false;
            }
        }

        if (initTimer.IsCancellationRequested)
        {
            if (received)
            {
                enumerator.Current.Release();
            }

            throw Refuse(StatusCode.DeadlineExceeded,
                $"no Init within {options.InitTimeoutSeconds} s (UserCode:InitTimeoutSeconds); the session is closed");
        }

        if (!received)
        {
            return null;
        }

        var frame = enumerator.Current;
        if (frame.Length > options.MaxInitBytes)
        {
            var field = frame.FirstField();
            frame.Release();
            throw field == 1
                ? Refuse(StatusCode.ResourceExhausted, $"the first message is a {frame.Length}-byte Init; an Init is at most {options.MaxInitBytes} bytes (UserCode:MaxInitBytes)")
                : Refuse(StatusCode.FailedPrecondition, $"the first message of a session must be Init, not {KindName(field)} ({frame.Length} bytes)");
        }

        var kind = frame.FirstField();
        if (kind != 1)
        {
            frame.Release();
            throw Refuse(StatusCode.FailedPrecondition, $"the first message of a session must be Init, not {KindName(kind)}");
        }

        var first = Parse(frame, 0, 0);
        frame.Release();
        if (first?.KindCase != MemberMessage.KindOneofCase.Init)
        {
            throw Refuse(StatusCode.FailedPrecondition,
                $"the first message of a session must be Init, not {first?.KindCase.ToString() ?? nameof(MemberMessage.KindOneofCase.Batch)}");
        }

        return first.Init;
    }

    private static string KindName(int field) => field switch
    {
        1 => nameof(MemberMessage.KindOneofCase.Init),
        2 => nameof(MemberMessage.KindOneofCase.Schemas),
        3 => nameof(MemberMessage.KindOneofCase.Batch),
        4 => nameof(MemberMessage.KindOneofCase.Cancel),
        5 => nameof(MemberMessage.KindOneofCase.Ping),
        6 => nameof(MemberMessage.KindOneofCase.Drain),
        0 => "an empty or malformed message",
        _ => $"unknown field {field}",
    };

    private SessionRejectedException Refuse(StatusCode status, string reason)
    {
        Log.SessionRejected(Logger, _id, status.ToString(), reason);
        return new SessionRejectedException(status, reason);
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

    private void Start(Init init)
    {
        _function = _processor.Accept(init, _id);
        var options = _processor.Options;
        var maxInFlight = init.MaxInFlight == 0 ? options.MaxInFlight : (int)Math.Min(init.MaxInFlight, (uint)options.MaxInFlight);
        _maxInFlight = maxInFlight;
        _slots = new SemaphoreSlim(maxInFlight, maxInFlight);
        _maxBatchBytes = init.MaxBatchBytes == 0 ? options.MaxBatchBytes : (int)Math.Min(init.MaxBatchBytes, (uint)options.MaxBatchBytes);
        _maxBatchItems = init.MaxBatchItems == 0 ? options.MaxBatchItems : (int)Math.Min(init.MaxBatchItems, (uint)options.MaxBatchItems);
        _forwardLevel = ForwardingLogger.FromProto(init.LogLevel, Microsoft.Extensions.Logging.LogLevel.Information);
        _info = new SessionInfo
        {
            JobId = init.JobId,
            JobName = init.JobName,
            StageName = init.StageName,
            FunctionName = init.Function,
            KeyFormat = init.KeyFormat == Format.Unspecified ? Format.Bytes : init.KeyFormat,
            ValueFormat = init.ValueFormat == Format.Unspecified ? Format.Bytes : init.ValueFormat,
            Settings = new Dictionary<string, string>(init.Settings, StringComparer.Ordinal),
        };
        UserCategory = $"UserCode.{_function.Name}";
        UserLogger = _processor.LoggerFactory.CreateLogger(UserCategory);
        Log.SessionStarted(Logger, _id, init.JobName, init.StageName, init.Function, maxInFlight);
    }

    private Ready BuildReady()
    {
        var options = _processor.Options;
        var ready = new Ready
        {
            RuntimeVersion = RuntimeInfo.Version,
            Pid = Environment.ProcessId,
            Signature = _function.Invoker.Signature,
            Capabilities = { "cancel", "deadline", "filter", "flat-map", "logs", "stats" },
            Limits = new Limits
            {
                MaxBatchBytes = (uint)_maxBatchBytes,
                MaxBatchItems = (uint)_maxBatchItems,
                MaxInFlight = (uint)_maxInFlight,
                MaxMessageBytes = (uint)options.MaxMessageBytes,
            },
        };
        if (_processor.Catalog.Codecs.Hazelcast is not null)
        {
            ready.Capabilities.Add("compact");
        }

        return ready;
    }

    /// <summary>
    /// Reads a frame: null for a batch (read in place, the frame stays alive), else the message
    /// (the caller releases the frame). Bytes that are not a MemberMessage end the session.
    /// </summary>
    private MemberMessage? Parse(MemberFrame frame, int maxItems, int maxBatchBytes)
    {
        try
        {
            frame.Parse(maxItems, maxBatchBytes);
        }
        catch (MalformedFrameException e)
        {
            frame.Release();
            var reason = $"a {frame.Length}-byte message is not a valid MemberMessage: {e.Message}";
            Log.SessionRejected(Logger, _id, nameof(StatusCode.InvalidArgument), reason);
            throw new SessionRejectedException(StatusCode.InvalidArgument, reason);
        }

        return frame.IsBatch ? null : frame.Message;
    }

    /// <summary>
    /// Reads until the source ends, as the reader of <paramref name="epoch"/>. Only the current
    /// epoch's reader reports the end (or failure) of the stream; a reader whose inline batch was
    /// rescued (see <see cref="RescueReader"/>) just stops.
    /// </summary>
    private async Task ReadLoopAsync(IAsyncEnumerator<MemberFrame> enumerator, bool inline, int epoch)
    {
        try
        {
            await ReadCoreAsync(enumerator, inline, epoch).ConfigureAwait(false);
            if (Volatile.Read(ref _readerEpoch) == epoch)
            {
                _readDone.TrySetResult();
            }
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            if (Volatile.Read(ref _readerEpoch) == epoch)
            {
                _readDone.TrySetException(e);
            }

            throw;
        }
    }

    private async Task ReadCoreAsync(IAsyncEnumerator<MemberFrame> enumerator, bool inline, int epoch)
    {
        if (!inline)
        {
            // Yield first so RunAsync gets to wait on this task before the loop blocks on a read.
            await Task.Yield();
        }

        while (await enumerator.MoveNextAsync().ConfigureAwait(false))
        {
            var frame = enumerator.Current;
            var message = Parse(frame, _maxBatchItems, _maxBatchBytes);
            if (message is null)
            {
                await OnBatchAsync(frame).ConfigureAwait(false);
                if (Volatile.Read(ref _readerEpoch) != epoch)
                {
                    // An inline batch held this thread too long: another reader took over.
                    return;
                }

                continue;
            }

            frame.Release();
            switch (message.KindCase)
            {
                case MemberMessage.KindOneofCase.Cancel:
                    if (_running.TryGetValue(message.Cancel.BatchId, out var run))
                    {
                        run.CancelByMember();
                    }

                    break;
                case MemberMessage.KindOneofCase.Ping:
                    await Writer.WriteAsync(RuntimeFrame.From(new RuntimeMessage
                    {
                        Pong = new Pong { Nonce = message.Ping.Nonce, Stats = _processor.Counters.Snapshot() },
                    }), _sessionCts.Token).ConfigureAwait(false);
                    break;
                case MemberMessage.KindOneofCase.Schemas:
                    await OnSchemasAsync(message.Schemas).ConfigureAwait(false);
                    break;
                case MemberMessage.KindOneofCase.Drain:
                    RequestDrain();
                    if (inline)
                    {
                        // Give the source's thread back, so the session can finish its batches and
                        // say Drained; reads go on (from the pool) until the stream ends, so late
                        // batches are refused rather than dropped, and Ping is still answered.
                        await Task.Yield();
                    }

                    break;
                case MemberMessage.KindOneofCase.Init:
                    await ProtocolErrorAsync(ProtocolError.Types.Code.DuplicateInit, "Init was already received; a session has exactly one", null).ConfigureAwait(false);
                    break;
                default:
                    await ProtocolErrorAsync(ProtocolError.Types.Code.EmptyMessage, "a MemberMessage with no field set was received", null).ConfigureAwait(false);
                    break;
            }
        }
    }

    private void RequestDrain() => _drainRequested.TrySetResult();

    /// <summary>Takes a batch frame; it is released here unless a BatchRun takes it over.</summary>
    private async Task OnBatchAsync(MemberFrame batch)
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

    private async Task<bool> TryStartBatchAsync(MemberFrame batch)
    {
        lock (_gate)
        {
            if (_draining || _drainRequested.Task.IsCompleted)
            {
                goto refused;
            }
        }

        if (batch.BatchId == 0)
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.Malformed,
                $"batch id 0 is not allowed (ids start at 1); its {batch.ItemCount} item(s) were not processed", null).ConfigureAwait(false);
            return false;
        }

        if (_lastBatchId is { } last && batch.BatchId <= last)
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.DuplicateBatchId,
                $"batch id {batch.BatchId} is not above the previous id {last}; its {batch.ItemCount} item(s) were not processed", batch.BatchId).ConfigureAwait(false);
            return false;
        }

        _lastBatchId = batch.BatchId;
        if (batch.OverLimit || batch.ItemCount > _maxBatchItems || batch.BatchBytes > _maxBatchBytes)
        {
            await RefuseBatchAsync(batch, ItemError.Types.Code.BatchTooLarge,
                $"batch {batch.BatchId} has {batch.ItemCount} items and {batch.BatchBytes} bytes; the session's limits are {_maxBatchItems} items and {_maxBatchBytes} bytes (Ready.limits)").ConfigureAwait(false);
            return false;
        }

        var options = _processor.Options;
        var abandoned = _processor.AbandonedCalls;
        if (AbandonedCalls >= options.MaxAbandonedCallsPerSession || abandoned >= options.MaxAbandonedCalls)
        {
            await RefuseBatchAsync(batch, ItemError.Types.Code.Overloaded,
                $"batch {batch.BatchId} was not run: {AbandonedCalls} call(s) of this session and {abandoned} in the runtime were abandoned at their deadline and still run (limits UserCode:MaxAbandonedCallsPerSession={options.MaxAbandonedCallsPerSession}, UserCode:MaxAbandonedCalls={options.MaxAbandonedCalls}); retry later or recycle the runtime").ConfigureAwait(false);
            return false;
        }

        // The reader never waits for a slot: it must stay free for Ping, Cancel and Drain. A member
        // that sends more than it agreed to gets its extra batch back unprocessed.
        if (!_slots.Wait(0))
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.TooManyInFlight,
                $"batch {batch.BatchId} is over the session's limit of {_maxInFlight} batch(es) in flight (Ready.limits.max_in_flight); its {batch.ItemCount} item(s) were not processed", batch.BatchId).ConfigureAwait(false);
            return false;
        }

        var run = new BatchRun(this, batch);
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

        if (_readsInline)
        {
            run.Start(inline: true);
            return true;
        }

        // Inline on a socket reader: if the batch blocks this thread, the watchdog hands the
        // reading to another thread (RescueReader), so Ping and Cancel are still served.
        var since = Stopwatch.GetTimestamp();
        lock (_readerGate)
        {
            _inlineSince = since;
        }

        run.Start(inline: true);
        lock (_readerGate)
        {
            if (_inlineSince == since)
            {
                _inlineSince = 0;
            }
        }

        return true;

    refused:
        await ProtocolErrorAsync(ProtocolError.Types.Code.BatchAfterDrain,
            $"batch {batch.BatchId} arrived after Drain (or runtime shutdown); its {batch.ItemCount} item(s) were not processed", batch.BatchId).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Answers a batch none of whose items ran with one batch-level error: its size does not grow
    /// with the batch's items, and the member counts every item as failed.
    /// </summary>
    private async Task RefuseBatchAsync(MemberFrame batch, ItemError.Types.Code code, string reason)
    {
        Log.BatchRefused(Logger, _id, batch.BatchId, code.ToString(), batch.ItemCount, reason);
        Interlocked.Add(ref _errors, batch.ItemCount);
        var result = new BatchResult
        {
            BatchId = batch.BatchId,
            Error = new ItemError { Code = code, Type = "Jex." + code, Message = reason },
        };
        await Writer.WriteAsync(RuntimeFrame.From(new RuntimeMessage { Result = result }), _sessionCts.Token).ConfigureAwait(false);
    }

    private async Task OnSchemasAsync(Schemas schemas)
    {
        var binding = _processor.Catalog.Codecs.Hazelcast;
        if (binding is null)
        {
            await ProtocolErrorAsync(ProtocolError.Types.Code.BadSchema, "this runtime has no Hazelcast codec; Schemas cannot be used", null).ConfigureAwait(false);
            return;
        }

        if (binding is ISchemaRegistry registry)
        {
            try
            {
                registry.Register(_info, schemas);
            }
            catch (PayloadBindingException e)
            {
                await ProtocolErrorAsync(ProtocolError.Types.Code.BadSchema, e.Message, null).ConfigureAwait(false);
            }
        }
    }

    internal async Task ProtocolErrorAsync(ProtocolError.Types.Code code, string reason, ulong? batchId)
    {
        Log.ProtocolError(Logger, _id, code.ToString(), reason);
        var error = new ProtocolError { Code = code, Message = reason };
        if (batchId is { } b)
        {
            error.BatchId = b;
        }

        await Writer.WriteAsync(RuntimeFrame.From(new RuntimeMessage { Error = error }), _sessionCts.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// A batch of a fast function runs on the thread that read it, up to its first real await:
    /// handing it to the thread pool and back costs more than the batch (tens of µs when the pool
    /// threads sleep; 256 x 64 B identity takes ~40 µs). Once a batch takes longer, the next ones run
    /// on the pool, so the reader stays free for the next batch and for Cancel, and batches of a
    /// slow function overlap. The estimate is the session's last batch's time (of any path); the
    /// first batch always runs on the pool. Measured on 2 cores, 256 x 64 B, 4 in flight: shm
    /// 1.1M -> 3.5M events/s, gRPC-UDS 1.1M -> 1.7M (inline up to 16 items vs any size).
    /// User code never runs on a socket I/O thread (Kestrel's inline scheduling reads gRPC messages
    /// there): a function that blocks on other I/O (sync over async) would wait for the very thread
    /// it holds. Only the thread pool and a shared-memory slot's own thread qualify.
    /// </summary>
    private bool RunInline(int items) =>
        items > 0
        && Volatile.Read(ref _recentBatchMicros) < InlineMaxMicros
        && (_readsInline || Thread.CurrentThread.IsThreadPoolThread);

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

    /// <summary>
    /// Called by the watchdog: when a batch run inline on the socket reader's thread has held it
    /// longer than <paramref name="after"/> (a "fast" function that suddenly blocks), a new reader
    /// takes over on the pool, and the blocked thread stops reading once its batch returns.
    /// The shared-memory source is read by its slot's own thread only, so it is not rescued here.
    /// </summary>
    internal void RescueReader(long now, TimeSpan after)
    {
        if (Volatile.Read(ref _inlineSince) == 0 || _enumerator is not { } enumerator)
        {
            return;
        }

        int epoch;
        lock (_readerGate)
        {
            if (_inlineSince == 0 || Stopwatch.GetElapsedTime(_inlineSince, now) < after || _sessionCts.IsCancellationRequested)
            {
                return;
            }

            _inlineSince = 0;
            epoch = ++_readerEpoch;
        }

        Log.ReaderRescued(Logger, _id, _function.Name, (long)after.TotalMilliseconds);
        _rescueReaders.Add(ReadLoopAsync(enumerator, inline: false, epoch));
    }

    /// <summary>A batch whose result was never handed to the transport gives its slot back here.</summary>
    internal void ReleaseSlot() => _slots.Release();

    private void OnWriting(RuntimeFrame frame)
    {
        if (frame.HoldsSlot)
        {
            frame.HoldsSlot = false;
            _slots.Release();
        }
    }

    /// <summary>A call of this session was abandoned at its deadline while still running.</summary>
    internal void OnAbandoned(BatchRun run, Task call, int heldBytes)
    {
        Interlocked.Increment(ref _abandonedCalls);
        _processor.OnAbandoned(this, run, call, heldBytes, () => Interlocked.Decrement(ref _abandonedCalls));
    }

    /// <summary>
    /// Sends a frame. When nothing is queued and nobody is writing, the caller writes it to the
    /// transport itself; otherwise it joins the queue behind what is there, so a batch's logs always
    /// precede its result. Not cancellable: a frame is only dropped when nobody can receive it.
    /// </summary>
    internal ValueTask SendAsync(RuntimeFrame frame)
    {
        if (_channel.Reader.Count == 0 && _writeGate.Wait(0))
        {
            if (_channel.Reader.Count == 0)
            {
                return WriteDirectAsync(frame);
            }

            _writeGate.Release();
        }

        return _channel.Writer.WriteAsync(frame);
    }

    private async ValueTask WriteDirectAsync(RuntimeFrame frame)
    {
        try
        {
            OnWriting(frame);
            await _output.WriteAsync(frame, moreFollows: false, _sessionCts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            await FailOutputAsync(e).ConfigureAwait(false);
            throw new ChannelClosedException(e);
        }
        finally
        {
            frame.Release();
            _writeGate.Release();
        }
    }

    /// <summary>
    /// The transport failed: nobody can receive results any more. Stop everything that would produce
    /// them, and unblock writers waiting on the full channel.
    /// </summary>
    private async Task FailOutputAsync(Exception e)
    {
        _channel.Writer.TryComplete(e);
        await _sessionCts.CancelAsync().ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        try
        {
            var reader = _channel.Reader;
            while (await reader.WaitToReadAsync(_sessionCts.Token).ConfigureAwait(false))
            {
                // The gate first, then the queue: a batch writing directly never overtakes a
                // message this loop has already taken.
                await _writeGate.WaitAsync(_sessionCts.Token).ConfigureAwait(false);
                try
                {
                    await DrainAsync(reader).ConfigureAwait(false);
                }
                finally
                {
                    _writeGate.Release();
                }
            }
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            await FailOutputAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    private async Task DrainAsync(ChannelReader<RuntimeFrame> reader)
    {
        while (reader.TryRead(out var frame))
        {
            // When another message is already queued, the transport may hold this one back and
            // send both with one flush: one system call instead of one per message. The last
            // message of every run has nothing behind it, so it always flushes.
            var moreFollows = reader.TryPeek(out _);
            try
            {
                OnWriting(frame);
                await _output.WriteAsync(frame, moreFollows, _sessionCts.Token).ConfigureAwait(false);
            }
            finally
            {
                frame.Release();
            }
        }
    }
}

internal static class RuntimeInfo
{
    public static readonly string Version =
        typeof(RuntimeInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static readonly Stopwatch Uptime = Stopwatch.StartNew();
}

/// <summary>
/// A source of member messages whose reads may block the calling thread (a shared-memory slot's own
/// thread): the session reads it on the calling thread instead of hopping to the thread pool first,
/// so a small batch is read, run and answered without a thread hand-off. The source ends its reads
/// (MoveNextAsync returns false) when the runtime stops.
/// </summary>
internal interface IInlineSource;

/// <summary>Implemented by the Hazelcast binding to accept the member's in-band schemas.</summary>
internal interface ISchemaRegistry
{
    /// <summary>Registers schemas for the session; throws <see cref="PayloadBindingException"/> naming a bad one.</summary>
    void Register(SessionInfo session, Schemas schemas);
}

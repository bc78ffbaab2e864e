using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;
using Log = Jex.Member.Diagnostics.Log;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Member.Driver;

/// <summary>
/// Runs one user-code transform stage: reads journal items, sends them to a runtime in
/// size-bounded batches with N in flight, hands results to the sink (in order when asked), and
/// survives the runtime's death by restarting it and replaying every batch that had no result.
/// </summary>
/// <remarks>
/// Tasks: one builder (journal to batches), one sender and one reader per session generation, one
/// sink writer. A new generation starts only after the previous one's sender and reader have
/// stopped, so the ledger never sees two live sessions.
/// </remarks>
internal sealed class TransformDriver
{
    private readonly IRuntimeLauncher _launcher;
    private readonly ISessionConnector _connector;
    private readonly DriverOptions _options;
    private readonly ILogger _logger;
    private readonly BatchLedger _ledger;
    private readonly TaskCompletionSource _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Ready> _firstReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private const int SessionOpenAttempts = 3;

    // How long a lost runtime that is still alive may take to exit on SIGTERM before SIGKILL.
    private static readonly TimeSpan LostGrace = TimeSpan.FromSeconds(2);
    private long _loggedErrors;

    public TransformDriver(IRuntimeLauncher launcher, ISessionConnector connector, DriverOptions options, ILogger logger)
    {
        _launcher = launcher;
        _connector = connector;
        _options = options;
        _logger = logger;
        _ledger = new BatchLedger(options.PreserveOrder);
    }

    public DriverStats Stats { get; } = new();

    /// <summary>Completes with the first session's Ready: the job is running (its source may start).</summary>
    public Task<Ready> FirstReady => _firstReady.Task;

    /// <summary>The Ready of the current session (null before the first one).</summary>
    public Ready? LastReady { get; private set; }

    private string Job => _options.Session.JobName;

    private string Stage => _options.Session.StageName;

    /// <summary>Runs until <paramref name="source"/> completes and every result reached the sink.</summary>
    /// <exception cref="JobFailedException">The job cannot complete; the message says why.</exception>
    public async Task RunAsync(ChannelReader<Item> source, IResultSink sink, CancellationToken cancellationToken)
    {
        using var jobCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toSend = Channel.CreateUnbounded<PendingBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var emitted = Channel.CreateUnbounded<(PendingBatch Batch, BatchResult Result)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var inFlight = new SemaphoreSlim(_options.MaxInFlight, _options.MaxInFlight);
        var builder = Guard(BuildBatchesAsync(source, toSend.Writer, inFlight, jobCts.Token));
        var sinkTask = Guard(SinkAsync(emitted.Reader, sink, inFlight, jobCts.Token));
        try
        {
            await RunSessionsAsync(toSend.Reader, emitted.Writer, jobCts.Token).ConfigureAwait(false);
            emitted.Writer.TryComplete();
            await sinkTask.ConfigureAwait(false);
            await builder.ConfigureAwait(false);
        }
        finally
        {
            await jobCts.CancelAsync().ConfigureAwait(false);
            emitted.Writer.TryComplete();
            await Task.WhenAll(builder, sinkTask).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    // A failure of the builder or the sink ends the job: it lands in _fatal, which every
    // generation watches.
    private async Task Guard(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception ex)
        {
            _fatal.TrySetException(ex is JobFailedException ? ex : new JobFailedException(ex.Message, ex));
            throw;
        }
    }

    private async Task BuildBatchesAsync(ChannelReader<Item> source, ChannelWriter<PendingBatch> toSend, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        var maxItems = Math.Max(1, _options.MaxBatchItems);
        var maxBytes = (int)Math.Max(1024, _options.Session.MaxBatchBytes);
        try
        {
            while (await source.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Natural batching: take what the journal has now, up to the bounds; never wait
                // for a batch to fill, so latency stays low at low rates.
                var items = new List<Item>(Math.Min(maxItems, 64));
                var bytes = 0;
                while (items.Count < maxItems && source.TryPeek(out var next))
                {
                    var size = next.CalculateSize() + 8;
                    if (items.Count > 0 && bytes + size > maxBytes)
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
                Stats.AddIn(items.Count);
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

    private async Task SinkAsync(ChannelReader<(PendingBatch Batch, BatchResult Result)> emitted, IResultSink sink, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        await foreach (var (batch, result) in emitted.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            long outs = 0, errors = 0;
            for (var i = 0; i < result.Results.Count; i++)
            {
                var r = result.Results[i];
                if (r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok)
                {
                    outs += r.Ok.Outputs_.Count;
                }
                else
                {
                    errors++;
                    LogItemError(batch, batch.Items[i], r.Error);
                }
            }

            await sink.WriteAsync(batch, result, cancellationToken).ConfigureAwait(false);
            Stats.AddOut(outs);
            Stats.AddErrors(errors);
            Stats.AddBatch();
            inFlight.Release();
        }
    }

    private void LogItemError(PendingBatch batch, Item item, ItemError? error)
    {
        if (Interlocked.Increment(ref _loggedErrors) > _options.MaxLoggedItemErrors)
        {
            return;
        }

        var key = item.Key.Length <= 128 ? Encoding.UTF8.GetString(item.Key.Span) : Encoding.UTF8.GetString(item.Key.Span[..128]) + "...";
        Log.ItemError(_logger, Job, Stage, batch.Sequence, key, error?.Type ?? "?", error?.Message ?? "no error detail");
    }

    private async Task RunSessionsAsync(ChannelReader<PendingBatch> toSend, ChannelWriter<(PendingBatch, BatchResult)> emitted, CancellationToken cancellationToken)
    {
        var consecutiveFailures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var resolvedBefore = _ledger.ResolvedCount;
            IRuntimeInstance? instance = null;
            ISessionChannel? channel = null;
            try
            {
                var launch = _options.LaunchOptions();
                instance = await _launcher.StartAsync(launch with { ReadyTimeout = launch.ReadyTimeout ?? _options.ReadyTimeout }, cancellationToken).ConfigureAwait(false);
                Stats.RuntimePid = instance.Ready.Pid;
                if (instance.Ready.Functions.Count > 0 && !instance.Ready.Functions.Contains(_options.Session.Function))
                {
                    throw new JobFailedException(
                        $"function '{_options.Session.Function}' is not in the runtime's user code; it has: {string.Join(", ", instance.Ready.Functions)}");
                }

                Ready ready;
                (channel, ready) = await OpenSessionAsync(instance, launch.Token, cancellationToken).ConfigureAwait(false);
                LastReady = ready;
                _firstReady.TrySetResult(ready);
                Log.SessionOpen(_logger, Job, Stage, instance.Ready.Address, ready.Signature?.Name ?? _options.Session.Function,
                    ready.Signature?.Input ?? "?", ready.Signature?.Output ?? "?", ready.Pid);

                var replay = _ledger.BeginGeneration(out var generation);
                await RunGenerationAsync(instance, channel, generation, replay, toSend, emitted, cancellationToken).ConfigureAwait(false);

                await channel.DisposeAsync().ConfigureAwait(false);
                channel = null;
                await instance.StopAsync(_options.StopGrace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsRecoverable(ex) && !cancellationToken.IsCancellationRequested)
            {
                // Close the session first: a draining runtime's server waits for its open
                // connections before it exits.
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                channel = null;
                var reason = await DescribeAsync(ex, instance).ConfigureAwait(false);
                consecutiveFailures = _ledger.ResolvedCount > resolvedBefore ? 1 : consecutiveFailures + 1;
                if (consecutiveFailures >= _options.Restart.MaxConsecutiveFailures)
                {
                    throw new JobFailedException(
                        $"the runtime failed {consecutiveFailures} times in a row without progress (crash loop, giving up); last error: {reason}", ex);
                }

                if (Stats.Restarts >= _options.Restart.MaxRestarts)
                {
                    throw new JobFailedException($"the runtime was restarted {Stats.Restarts} times, the most allowed; last error: {reason}", ex);
                }

                var delay = _options.Restart.Backoff(consecutiveFailures);
                Stats.AddRestart();
                Log.RuntimeLost(_logger, Job, Stage, reason, _ledger.InFlight, (int)Stats.Restarts, (long)delay.TotalMilliseconds);
                if (instance is not null && !instance.Exited.IsCompleted)
                {
                    // Often it is on its way out (SIGTERMed, draining): let it finish and remove its
                    // files rather than SIGKILL it; a hung one gets SIGKILL after a short grace.
                    await StopQuietlyAsync(instance, LostGrace).ConfigureAwait(false);
                }

                await DisposeQuietlyAsync(channel, instance).ConfigureAwait(false);
                channel = null;
                instance = null;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SessionEndedException or ProtocolViolationException)
            {
                // Permanent: a restart would be refused the same way.
                throw new JobFailedException($"the runtime refused the session: {ex.Message}", ex);
            }
            catch (RuntimeStartException ex) when (ex.IsFinal)
            {
                // Exit codes 2 and 3: the job's configuration or its user code is wrong. The same
                // runtime would fail the same way at every start.
                throw new JobFailedException(ex.Message, ex) { ExitCode = ex.ExitCode };
            }
            finally
            {
                if (instance is not null && cancellationToken.IsCancellationRequested)
                {
                    // Cancelled (Ctrl+C): let the runtime drain and clean up (SIGTERM), SIGKILL only after the grace.
                    await StopQuietlyAsync(instance).ConfigureAwait(false);
                }

                await DisposeQuietlyAsync(channel, instance).ConfigureAwait(false);
            }
        }
    }

    private async Task StopQuietlyAsync(IRuntimeInstance instance, TimeSpan? grace = null)
    {
        try
        {
            await instance.StopAsync(grace ?? _options.StopGrace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or IOException)
        {
            // DisposeAsync kills it next.
        }
    }

    // A runtime that has just printed its ready line can still drop the first connection (seen
    // under heavy load: GOAWAY right after the HTTP/2 preface). Retrying on the same, live runtime
    // is cheaper and truer than counting a restart.
    private async Task<(ISessionChannel Channel, Ready Ready)> OpenSessionAsync(IRuntimeInstance instance, string token, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var channel = await _connector.ConnectAsync(instance.Ready, cancellationToken).ConfigureAwait(false);
            try
            {
                var ready = await SessionHandshake.OpenAsync(channel, _options.Session, token, ForwardLog, _options.ReadyTimeout, cancellationToken).ConfigureAwait(false);
                return (channel, ready);
            }
            catch (Exception ex) when (attempt < SessionOpenAttempts && IsRecoverable(ex) && ex is not TimeoutException
                && !instance.Exited.IsCompleted && !cancellationToken.IsCancellationRequested)
            {
                Log.SessionOpenRetry(_logger, Job, Stage, ex.Message, attempt);
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                throw;
            }
        }
    }

    private async Task RunGenerationAsync(
        IRuntimeInstance instance,
        ISessionChannel channel,
        int generation,
        IReadOnlyList<PendingBatch> replay,
        ChannelReader<PendingBatch> toSend,
        ChannelWriter<(PendingBatch, BatchResult)> emitted,
        CancellationToken cancellationToken)
    {
        using var genCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var drainSent = new StrongBox<bool>();
        // On the thread pool: a shared-memory send blocks its thread while the ring is full, and
        // if that were this thread, nothing would watch for the runtime's exit (seen: a runtime
        // that died mid-run left the job hanging with restarts=0).
        var reader = Task.Run(() => ReadLoopAsync(channel, generation, emitted, drainSent, genCts.Token), CancellationToken.None);
        var sender = Task.Run(() => SendLoopAsync(channel, generation, replay, toSend, drainSent, genCts.Token), CancellationToken.None);
        var watched = new List<Task> { reader, sender, instance.Exited, _fatal.Task };
        try
        {
            while (true)
            {
                var done = await Task.WhenAny(watched).ConfigureAwait(false);
                if (done == reader)
                {
                    await reader.ConfigureAwait(false);
                    return;
                }

                if (done == instance.Exited)
                {
                    // The stream usually reports the death first; this covers a runtime that exits
                    // while idle (no call in progress to fail).
                    throw new SessionEndedException(StatusCode.Unavailable, "the runtime process exited");
                }

                await done.ConfigureAwait(false);
                watched.Remove(done);
            }
        }
        finally
        {
            await genCts.CancelAsync().ConfigureAwait(false);
            // Both loops stop at their next await; the ledger must not see them after this.
            await Task.WhenAll(reader, sender).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync(ISessionChannel channel, int generation, IReadOnlyList<PendingBatch> replay, ChannelReader<PendingBatch> toSend, StrongBox<bool> drainSent, CancellationToken cancellationToken)
    {
        if (replay.Count > 0)
        {
            Log.Replaying(_logger, Job, Stage, replay.Count);
            Stats.AddReplayed(replay.Count);
            foreach (var batch in replay)
            {
                await SendBatchAsync(channel, generation, batch, cancellationToken).ConfigureAwait(false);
            }
        }

        while (await toSend.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // TryRead and MarkSent run with no await in between, so a batch taken from the
            // queue is always known to the ledger (and replayed if this session dies).
            while (toSend.TryRead(out var batch))
            {
                await SendBatchAsync(channel, generation, batch, cancellationToken).ConfigureAwait(false);
            }
        }

        await _ledger.AllResolved.WaitAsync(cancellationToken).ConfigureAwait(false);
        drainSent.Value = true;
        await channel.SendAsync(new MemberMessage { Drain = new Drain() }, cancellationToken).ConfigureAwait(false);
        await channel.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask SendBatchAsync(ISessionChannel channel, int generation, PendingBatch batch, CancellationToken cancellationToken)
    {
        var wireId = _ledger.MarkSent(generation, batch);
        return channel.SendAsync(new MemberMessage { Batch = batch.ToMessage(wireId, _options.BatchDeadlineMs) }, cancellationToken);
    }

    private async Task ReadLoopAsync(ISessionChannel channel, int generation, ChannelWriter<(PendingBatch, BatchResult)> emitted, StrongBox<bool> drainSent, CancellationToken cancellationToken)
    {
        var emit = new List<(PendingBatch Batch, BatchResult Result)>();
        while (true)
        {
            var message = await channel.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                if (drainSent.Value && _ledger.AllResolved.IsCompleted)
                {
                    return;
                }

                throw new RuntimeStoppedException(drainSent.Value
                    ? "the runtime ended the session before every batch had its result"
                    : "the runtime ended the session unexpectedly (the stream ended with no Drain asked)");
            }

            switch (message.KindCase)
            {
                case RuntimeMessage.KindOneofCase.Result:
                    emit.Clear();
                    if (_ledger.TryResolve(generation, message.Result, emit))
                    {
                        // One reader per generation, and generations never overlap: the emit
                        // order is the ledger's order.
                        foreach (var pair in emit)
                        {
                            emitted.TryWrite(pair);
                        }
                    }

                    break;
                case RuntimeMessage.KindOneofCase.Log:
                    ForwardLog(message.Log);
                    break;
                case RuntimeMessage.KindOneofCase.Schemas:
                    _options.OnSchemas?.Invoke(message.Schemas);
                    break;
                case RuntimeMessage.KindOneofCase.Drained:
                    Log.Drained(_logger, Job, Stage, message.Drained.Batches, message.Drained.Items);
                    if (drainSent.Value && _ledger.AllResolved.IsCompleted)
                    {
                        return;
                    }

                    // Drained the member did not ask for: the runtime is stopping on its own (SIGTERM
                    // from docker stop, an eviction, an operator). It finished what it had accepted;
                    // the rest must go to a new runtime, so this is a loss like a crash, not an end.
                    throw new RuntimeStoppedException(
                        "the runtime drained and is stopping on its own (SIGTERM or shutdown), although the job has more to do");
                case RuntimeMessage.KindOneofCase.Error:
                    throw new ProtocolViolationException(
                        $"the runtime refused a message: {message.Error.Code}: {message.Error.Message}" +
                        (message.Error.BatchId != 0 ? $" (batch {message.Error.BatchId})" : ""));
                case RuntimeMessage.KindOneofCase.Closed:
                    throw new SessionEndedException((StatusCode)message.Closed.Code, message.Closed.Message);
                default:
                    break;
            }
        }
    }

    private void ForwardLog(Protocol.V1.Log log)
    {
        var level = log.Level switch
        {
            Protocol.V1.LogLevel.Trace => MelLogLevel.Trace,
            Protocol.V1.LogLevel.Debug => MelLogLevel.Debug,
            Protocol.V1.LogLevel.Information => MelLogLevel.Information,
            Protocol.V1.LogLevel.Warning => MelLogLevel.Warning,
            Protocol.V1.LogLevel.Error => MelLogLevel.Error,
            Protocol.V1.LogLevel.Critical => MelLogLevel.Critical,
            _ => MelLogLevel.Information,
        };
        // Tag with the driver's batch sequence (stable across restarts, as in item-error logs);
        // the wire id only means something within one session.
        var batch = log.BatchId == 0 ? "-"
            : _ledger.SequenceOf(log.BatchId) is { } sequence ? sequence.ToString(CultureInfo.InvariantCulture)
            : "wire-" + log.BatchId.ToString(CultureInfo.InvariantCulture);
        Log.Forwarded(_logger, level, Job, Stage, batch, log.Category, log.Message,
            string.IsNullOrEmpty(log.Exception) ? "" : Environment.NewLine + log.Exception);
    }

    private static bool IsRecoverable(Exception ex) => ex switch
    {
        JobFailedException or ProtocolViolationException => false,
        SessionEndedException ended => !SessionHandshake.IsPermanent(ended.StatusCode),
        RuntimeStartException start => !start.IsFinal,
        RuntimeStoppedException or TimeoutException or IOException or HttpRequestException => true,
        _ => false,
    };

    private static async Task<string> DescribeAsync(Exception ex, IRuntimeInstance? instance)
    {
        if (instance is ProcessRuntimeInstance process)
        {
            // A dead stream usually precedes the exit by a moment; wait for it so the message can
            // carry the exit code and the runtime's last words.
            try
            {
                await process.Exited.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            if (process.ExitCode is { } code)
            {
                return $"{ex.Message} (runtime pid {process.Pid} exited with code {code}: {process.OutputSummary})";
            }
        }

        return ex.Message;
    }

    private static async Task DisposeQuietlyAsync(ISessionChannel? channel, IRuntimeInstance? instance)
    {
        if (channel is not null)
        {
            try
            {
                await channel.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
            }
        }

        if (instance is not null)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A mutable box shared between a generation's sender and reader.</summary>
internal sealed class StrongBox<T>
{
    public T? Value { get; set; }
}

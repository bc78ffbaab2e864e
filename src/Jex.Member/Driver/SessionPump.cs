using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Jex.Member.Launch;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;
using Jex.Member.Diagnostics;
using Log = Jex.Member.Diagnostics.Log;

namespace Jex.Member.Driver;

/// <summary>
/// Runs the batches of one session generation: a sender (the input's Compact schemas, replays, then new batches, then
/// Drain once everything is resolved) and a reader (results to the ledger, logs, schemas, the
/// runtime's end). Returns when the job's work is done on this session; throws when the session
/// or the runtime is lost, or when the job failed elsewhere.
/// </summary>
internal sealed class SessionPump
{
    private readonly BatchLedger _ledger;
    private readonly DriverOptions _options;
    private readonly DriverStats _stats;
    private readonly RuntimeLogForwarder _logs;
    private readonly ILogger _logger;
    private readonly ChannelReader<PendingBatch> _toSend;
    private readonly ChannelWriter<(PendingBatch, BatchResult)> _emitted;
    private readonly Task _fatal;

    /// <param name="ledger">The batches and their results.</param>
    /// <param name="options">The batch deadline and the schema callback.</param>
    /// <param name="stats">Replays are counted here.</param>
    /// <param name="logs">Where the runtime's log records go.</param>
    /// <param name="logger">The member's log.</param>
    /// <param name="toSend">New batches from the batcher.</param>
    /// <param name="emitted">Resolved batches, in the ledger's order, for the sink pump.</param>
    /// <param name="fatal">Faults when the job failed outside the session (the batcher or the sink): the generation ends with it.</param>
    public SessionPump(
        BatchLedger ledger, DriverOptions options, DriverStats stats, RuntimeLogForwarder logs, ILogger logger,
        ChannelReader<PendingBatch> toSend, ChannelWriter<(PendingBatch, BatchResult)> emitted, Task fatal)
    {
        _ledger = ledger;
        _options = options;
        _stats = stats;
        _logs = logs;
        _logger = logger;
        _toSend = toSend;
        _emitted = emitted;
        _fatal = fatal;
    }

    private string Job => _options.Session.JobName;

    private string Stage => _options.Session.StageName;

    /// <summary>Starts a new ledger generation on <paramref name="channel"/> and runs it to its end.</summary>
    public async Task RunAsync(IRuntimeInstance instance, ISessionChannel channel, CancellationToken cancellationToken)
    {
        var replay = _ledger.BeginGeneration(out var generation);
        using var genCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var drain = new DrainState();
        // On the thread pool: a shared-memory send blocks its thread while the ring is full, and
        // if that were this thread, nothing would watch for the runtime's exit (seen: a runtime
        // that died mid-run left the job hanging with restarts=0).
        var reader = Task.Run(() => ReadLoopAsync(channel, generation, drain, genCts.Token), CancellationToken.None);
        var sender = Task.Run(() => SendLoopAsync(channel, generation, replay, drain, genCts.Token), CancellationToken.None);
        var watched = new List<Task> { reader, sender, instance.Exited, _fatal };
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

    private async Task SendLoopAsync(ISessionChannel channel, int generation, IReadOnlyList<PendingBatch> replay, DrainState drain, CancellationToken cancellationToken)
    {
        if (_options.InputSchemas is { Schemas_.Count: > 0 } schemas)
        {
            await channel.SendAsync(new MemberMessage { Schemas = schemas }, cancellationToken).ConfigureAwait(false);
        }

        if (replay.Count > 0)
        {
            Log.Replaying(_logger, Job, Stage, replay.Count);
            _stats.AddReplayed(replay.Count);
            foreach (var batch in replay)
            {
                await SendBatchAsync(channel, generation, batch, cancellationToken).ConfigureAwait(false);
            }
        }

        while (await _toSend.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // TryRead and MarkSent run with no await in between, so a batch taken from the
            // queue is always known to the ledger (and replayed if this session dies).
            while (_toSend.TryRead(out var batch))
            {
                await SendBatchAsync(channel, generation, batch, cancellationToken).ConfigureAwait(false);
            }
        }

        await _ledger.AllResolved.WaitAsync(cancellationToken).ConfigureAwait(false);
        drain.Sent = true;
        await channel.SendAsync(new MemberMessage { Drain = new Drain() }, cancellationToken).ConfigureAwait(false);
        await channel.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask SendBatchAsync(ISessionChannel channel, int generation, PendingBatch batch, CancellationToken cancellationToken)
    {
        // A replay: the earlier send's session is gone (its reader has stopped), so its span ends here.
        if (batch.Activity is { } lost)
        {
            MemberTracing.StopLost(lost);
        }

        // Both are set before MarkSent takes the ledger's lock, so the reader that resolves the
        // batch (under the same lock) sees them.
        batch.Activity = MemberTracing.StartBatch(batch, _options.Session);
        batch.SentTimestamp = Stopwatch.GetTimestamp();
        var wireId = _ledger.MarkSent(generation, batch);
        // As the runtime tags its batch span: OpenTelemetry has no unsigned attribute type.
        batch.Activity?.SetTag("jex.batch.id", (long)wireId);
        return channel.SendAsync(new MemberMessage { Batch = batch.ToMessage(wireId, _options.BatchDeadlineMs) }, cancellationToken);
    }

    private async Task ReadLoopAsync(ISessionChannel channel, int generation, DrainState drain, CancellationToken cancellationToken)
    {
        var emit = new List<(PendingBatch Batch, BatchResult Result)>();
        while (true)
        {
            var message = await channel.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                if (drain.Sent && _ledger.AllResolved.IsCompleted)
                {
                    return;
                }

                throw new RuntimeStoppedException(drain.Sent
                    ? "the runtime ended the session before every batch had its result"
                    : "the runtime ended the session unexpectedly (the stream ended with no Drain asked)");
            }

            switch (message.KindCase)
            {
                case RuntimeMessage.KindOneofCase.Result:
                    emit.Clear();
                    if (_ledger.TryResolve(generation, message.Result, emit, out var resolved))
                    {
                        // The round trip ends when the result arrives, not when order lets it out.
                        _stats.Latency.RecordTicks(Stopwatch.GetTimestamp() - resolved!.SentTimestamp);
                        if (resolved.Activity is { } activity)
                        {
                            resolved.Activity = null;
                            MemberTracing.Stop(activity, message.Result);
                        }

                        // One reader per generation, and generations never overlap: the emit
                        // order is the ledger's order.
                        foreach (var pair in emit)
                        {
                            _emitted.TryWrite(pair);
                        }
                    }

                    break;
                case RuntimeMessage.KindOneofCase.Log:
                    _logs.Forward(message.Log);
                    break;
                case RuntimeMessage.KindOneofCase.Schemas:
                    _options.OnSchemas?.Invoke(message.Schemas);
                    break;
                case RuntimeMessage.KindOneofCase.Drained:
                    Log.Drained(_logger, Job, Stage, message.Drained.Batches, message.Drained.Items);
                    if (drain.Sent && _ledger.AllResolved.IsCompleted)
                    {
                        return;
                    }

                    // Drained the member did not ask for: the runtime is stopping on its own (SIGTERM
                    // from docker stop, an eviction, an operator). It finished what it had accepted;
                    // the rest must go to a new runtime, so this is a loss like a crash, not an end.
                    throw new RuntimeStoppedException(
                        "the runtime drained and is stopping on its own (SIGTERM or shutdown), although the job has more to do");
                case RuntimeMessage.KindOneofCase.Error when message.Error.Code == ProtocolError.Types.Code.BatchAfterDrain:
                    // The runtime is stopping on its own (SIGTERM) and took nothing after it began: the
                    // batch stays unresolved, and its Drained (or the stream's end) ends this session,
                    // so the batch is replayed on the next runtime like any other unanswered one.
                    Log.RefusedWhileDraining(_logger, Job, Stage, message.Error.BatchId);
                    break;
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

    /// <summary>Shared by a generation's sender and reader: whether the member asked for the drain.</summary>
    private sealed class DrainState
    {
        public volatile bool Sent;
    }
}

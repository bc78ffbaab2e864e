using System.Threading.Channels;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Jex.Member.Driver;

/// <summary>
/// Runs one user-code transform stage: reads journal items, sends them to a runtime in
/// size-bounded batches with N in flight, hands results to the sink (in order when asked), and
/// survives the runtime's death by restarting it and replaying every batch that had no result.
/// </summary>
/// <remarks>
/// The parts: a <see cref="Batcher"/> (journal to batches), a <see cref="RuntimeSupervisor"/>
/// (runtime and session, restarts), a <see cref="SessionPump"/> per session generation (one sender
/// and one reader), and a <see cref="SinkPump"/>. They share the <see cref="BatchLedger"/>. A new
/// generation starts only after the previous one's sender and reader have stopped, so the ledger
/// never sees two live sessions.
/// </remarks>
internal sealed class TransformDriver
{
    private readonly DriverOptions _options;
    private readonly ILogger _logger;
    private readonly BatchLedger _ledger;
    private readonly RuntimeLogForwarder _logs;
    private readonly RuntimeSupervisor _supervisor;
    private readonly TaskCompletionSource _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TransformDriver(IRuntimeLauncher launcher, ISessionConnector connector, DriverOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _ledger = new BatchLedger(options.PreserveOrder);
        _logs = new RuntimeLogForwarder(logger, _ledger, options.Session.JobName, options.Session.StageName);
        _supervisor = new RuntimeSupervisor(launcher, connector, options, _ledger, Stats, _logs, logger);
    }

    public DriverStats Stats { get; } = new();

    /// <summary>Completes with the first session's Ready: the job is running (its source may start).</summary>
    public Task<Ready> FirstReady => _supervisor.FirstReady;

    /// <summary>The Ready of the current session (null before the first one).</summary>
    public Ready? LastReady => _supervisor.LastReady;

    /// <summary>The runtime serving the session now, with its token; null while there is none.</summary>
    public LiveRuntime? CurrentRuntime => _supervisor.Current;

    /// <summary>Runs until <paramref name="source"/> completes and every result reached the sink.</summary>
    /// <exception cref="JobFailedException">The job cannot complete; the message says why.</exception>
    public async Task RunAsync(ChannelReader<Item> source, IResultSink sink, CancellationToken cancellationToken)
    {
        using var jobCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toSend = Channel.CreateUnbounded<PendingBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var emitted = Channel.CreateUnbounded<(PendingBatch Batch, BatchResult Result)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var inFlight = new SemaphoreSlim(_options.MaxInFlight, _options.MaxInFlight);
        var builder = Guard(new Batcher(_ledger, Stats, _options).RunAsync(source, toSend.Writer, inFlight, jobCts.Token));
        var sinkTask = Guard(new SinkPump(sink, Stats, _options, _logger).RunAsync(emitted.Reader, inFlight, jobCts.Token));
        var pump = new SessionPump(_ledger, _options, Stats, _logs, _logger, toSend.Reader, emitted.Writer, _fatal.Task);
        try
        {
            await _supervisor.RunAsync(pump.RunAsync, jobCts.Token).ConfigureAwait(false);
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

    // A failure of the batcher or the sink ends the job: it lands in _fatal, which every
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
}

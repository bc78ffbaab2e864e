using System.Threading.Channels;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// The only way a session's messages leave: one bounded queue, drained by one writer loop, and a
/// write gate that lets a sender write straight to the transport when nothing is queued.
/// </summary>
/// <remarks>
/// Invariant: messages reach the transport in the order their senders handed them over. A direct
/// write happens only while the queue is empty and the gate is free, and the writer loop takes the
/// gate before it takes from the queue; so a batch's logs, queued by <see cref="TryLog"/> while it
/// runs, always precede its result, sent by <see cref="SendAsync"/> once it has finished.
/// </remarks>
internal sealed class SessionWriter
{
    internal const int DefaultCapacity = 256;

    private readonly ISessionOutput _output;
    private readonly CancellationTokenSource _session;
    private readonly SemaphoreSlim? _inFlight;
    private readonly RuntimeCounters? _counters;
    private readonly Channel<RuntimeMessageBuffer> _queue;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _logsDropped;
    private volatile bool _completed;

    /// <param name="output">The transport.</param>
    /// <param name="session">Cancelled when the transport fails: nobody can receive results any more.</param>
    /// <param name="inFlight">Released as a result that holds an in-flight permit goes to the transport.</param>
    /// <param name="counters">The runtime's counters, which count dropped logs over all sessions (Pong stats).</param>
    /// <param name="capacity">The queue's bound: the back-pressure on results, the point where logs drop.</param>
    public SessionWriter(ISessionOutput output, CancellationTokenSource session, SemaphoreSlim? inFlight, RuntimeCounters? counters, int capacity = DefaultCapacity)
    {
        _counters = counters;
        _output = output;
        _session = session;
        _inFlight = inFlight;
        _queue = Channel.CreateBounded<RuntimeMessageBuffer>(
            new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Counts the bytes sent (jex.runtime.bytes.out); null where nothing records.</summary>
    public Diagnostics.SessionMetrics? Metrics { get; init; }

    /// <summary>User log records dropped because the queue was full.</summary>
    public long LogsDropped => Interlocked.Read(ref _logsDropped);

    /// <summary>
    /// Sends a message (a result, an error, a Pong, Ready, Drained), waiting while the queue is full.
    /// Not cancellable: a message is only lost when nobody can receive it, and then this throws
    /// <see cref="ChannelClosedException"/> and releases the message.
    /// </summary>
    public ValueTask SendAsync(RuntimeMessageBuffer message)
    {
        // After Complete nothing may reach the transport, not even directly: the session is ending.
        if (!_completed && _queue.Reader.Count == 0 && _gate.Wait(0))
        {
            // Checked again under the gate: the writer loop may have queued behind us meanwhile.
            if (_queue.Reader.Count == 0 && !_completed)
            {
                return WriteDirectAsync(message);
            }

            _gate.Release();
        }

        var queued = _queue.Writer.WriteAsync(message);
        return queued.IsCompletedSuccessfully ? default : AwaitQueuedAsync(queued, message);
    }

    /// <summary>
    /// Queues a user log record without ever waiting: a full queue drops it (counted in
    /// <see cref="LogsDropped"/>), so user code logging faster than the member reads is never blocked.
    /// Always queued, never written directly, so it stays ahead of the batch's result.
    /// </summary>
    public bool TryLog(RuntimeMessageBuffer message)
    {
        if (_queue.Writer.TryWrite(message))
        {
            return true;
        }

        message.Release();
        if (!_completed)
        {
            Interlocked.Increment(ref _logsDropped);
            _counters?.LogDropped();
        }

        return false;
    }

    /// <summary>No more messages: the writer loop ends once the queue is empty.</summary>
    public void Complete()
    {
        _completed = true;
        _queue.Writer.TryComplete();
    }

    /// <summary>The writer loop: runs until <see cref="Complete"/> and the queue is empty, or the transport fails.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // The gate first, then the queue: a direct write never overtakes a queued message.
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await DrainAsync(reader, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            await FailAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask AwaitQueuedAsync(ValueTask queued, RuntimeMessageBuffer message)
    {
        try
        {
            await queued.ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            message.Release();
            throw;
        }
    }

    private async ValueTask WriteDirectAsync(RuntimeMessageBuffer message)
    {
        try
        {
            OnWriting(message);
            await _output.WriteAsync(message, moreFollows: false, _session.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            await FailAsync(e).ConfigureAwait(false);
            throw new ChannelClosedException(e);
        }
        finally
        {
            message.Release();
            _gate.Release();
        }
    }

    private async Task DrainAsync(ChannelReader<RuntimeMessageBuffer> reader, CancellationToken cancellationToken)
    {
        while (reader.TryRead(out var message))
        {
            // With another message queued the transport may hold this one and flush both at once:
            // one system call instead of one per message. The last one of every run always flushes.
            var moreFollows = reader.TryPeek(out _);
            try
            {
                OnWriting(message);
                await _output.WriteAsync(message, moreFollows, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                message.Release();
            }
        }
    }

    private void OnWriting(RuntimeMessageBuffer message)
    {
        Metrics?.BytesOut(message.Length);
        // The permit is freed as the result goes out, not when it is queued, so results waiting
        // for a member that does not read still count against the in-flight limit.
        if (message.HoldsInFlight)
        {
            message.HoldsInFlight = false;
            _inFlight?.Release();
        }
    }

    /// <summary>
    /// The transport failed: stop everything that would produce messages, and unblock senders
    /// waiting on the full queue.
    /// </summary>
    private async Task FailAsync(Exception e)
    {
        _completed = true;
        _queue.Writer.TryComplete(e);
        await _session.CancelAsync().ConfigureAwait(false);
    }
}

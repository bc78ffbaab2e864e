using System.Collections.Concurrent;
using System.Diagnostics;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Reads a session's member messages after Init and hands each to the <see cref="Session"/>, in
/// order. It also holds the reader baton: when a batch run inline on a socket reader's thread
/// blocks it, <see cref="Rescue"/> starts a new reader on the pool and the blocked one stops once
/// its batch returns. Whoever reads the source is the reader of the current epoch.
/// </summary>
internal sealed class SessionReader
{
    private readonly Session _session;
    private readonly SessionContext _context;
    private readonly SessionHandshake _handshake;
    private readonly IAsyncEnumerator<MemberMessageBuffer> _enumerator;
    private readonly CancellationToken _sessionToken;
    private readonly object _gate = new();
    private readonly ConcurrentBag<Task> _rescueReaders = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _epoch;
    private long _inlineSince;

    public SessionReader(Session session, SessionContext context, SessionHandshake handshake, IAsyncEnumerator<MemberMessageBuffer> enumerator, bool inline)
    {
        _session = session;
        _context = context;
        _handshake = handshake;
        _enumerator = enumerator;
        _sessionToken = context.Token;
        Inline = inline;
    }

    /// <summary>The source is read on its own dedicated thread (shared memory), where user code may run.</summary>
    public bool Inline { get; }

    /// <summary>Completes when the current reader sees the source end, or fails with its failure.</summary>
    public Task Done => _done.Task;

    /// <summary>The readers rescue started, to observe when the session ends.</summary>
    public IEnumerable<Task> RescueReaders => _rescueReaders;

    /// <summary>
    /// Starts reading. With an inline source this runs on the calling thread until the loop first
    /// waits on something other than the source (or ends).
    /// </summary>
    public Task StartAsync() => ReadLoopAsync(Inline, 0);

    /// <summary>Runs a batch on this socket reader's thread, marked so the watchdog can rescue the reading.</summary>
    public void RunMarked(BatchRun run)
    {
        var since = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _inlineSince = since;
        }

        run.Start(inline: true);
        lock (_gate)
        {
            if (_inlineSince == since)
            {
                _inlineSince = 0;
            }
        }
    }

    /// <summary>
    /// Called by the watchdog: when a batch run inline on the socket reader's thread has held it
    /// longer than <paramref name="after"/> (a "fast" function that suddenly blocks), a new reader
    /// takes over on the pool, and the blocked thread stops reading once its batch returns.
    /// The shared-memory source is read by its slot's own thread only, so it is not rescued here.
    /// </summary>
    public void Rescue(long now, TimeSpan after)
    {
        if (Volatile.Read(ref _inlineSince) == 0)
        {
            return;
        }

        int epoch;
        lock (_gate)
        {
            if (_inlineSince == 0 || Stopwatch.GetElapsedTime(_inlineSince, now) < after || _sessionToken.IsCancellationRequested)
            {
                return;
            }

            _inlineSince = 0;
            epoch = ++_epoch;
        }

        Log.ReaderRescued(_context.Logger, _context.Id, _context.FunctionName, (long)after.TotalMilliseconds);
        _rescueReaders.Add(ReadLoopAsync(inline: false, epoch));
    }

    /// <summary>
    /// Reads until the source ends, as the reader of <paramref name="epoch"/>. Only the current
    /// epoch's reader reports the end (or failure) of the stream; a rescued reader just stops.
    /// </summary>
    private async Task ReadLoopAsync(bool inline, int epoch)
    {
        try
        {
            await ReadCoreAsync(inline, epoch).ConfigureAwait(false);
            if (Volatile.Read(ref _epoch) == epoch)
            {
                _done.TrySetResult();
            }
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            if (Volatile.Read(ref _epoch) == epoch)
            {
                _done.TrySetException(e);
            }

            throw;
        }
    }

    private async Task ReadCoreAsync(bool inline, int epoch)
    {
        if (!inline)
        {
            // Yield first so the session gets to wait on this task before the loop blocks on a read.
            await Task.Yield();
        }

        var limits = _context.Limits;
        while (await _enumerator.MoveNextAsync().ConfigureAwait(false))
        {
            var buffer = _enumerator.Current;
            var message = _handshake.Parse(buffer, limits.MaxBatchItems, limits.MaxBatchBytes);
            if (message is null)
            {
                await _session.OnBatchAsync(buffer).ConfigureAwait(false);
                if (Volatile.Read(ref _epoch) != epoch)
                {
                    // An inline batch held this thread too long: another reader took over.
                    return;
                }

                continue;
            }

            buffer.Release();
            await _session.OnMessageAsync(message).ConfigureAwait(false);
            if (inline && message.KindCase == MemberMessage.KindOneofCase.Drain)
            {
                // Give the source's thread back, so the session can finish its batches and say
                // Drained; reads go on (from the pool) until the stream ends, so late batches are
                // refused rather than dropped, and Ping is still answered.
                await Task.Yield();
            }
        }
    }
}

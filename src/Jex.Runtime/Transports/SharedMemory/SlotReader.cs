using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Transport.SharedMemory;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// The session's incoming messages, read straight from the slot's member-to-runtime ring by the
/// slot's thread. On that thread a read blocks in the ring's wait (spin, then the doorbell); from
/// any other thread (the session continuing after an await) the read is handed to the slot
/// thread, whose <see cref="ServeUntil"/> performs it and resumes the session there. So reads stay
/// on one thread (the ring has one consumer) and never block a thread-pool thread. Reads end,
/// returning false, when the member leaves or dies or the runtime stops.
/// </summary>
internal sealed class SlotReader : IAsyncEnumerable<MemberMessageBuffer>, IAsyncEnumerator<MemberMessageBuffer>, IInlineSource, IDisposable
{
    private readonly RingConsumer _ring;
    private readonly CancellationToken _stopReading;
    private readonly Thread _home = Thread.CurrentThread;
    private readonly Queue<MemberMessageBuffer> _ready = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly MessageHandler _deliver;
    private readonly Occupancy _occupancy;
    private TaskCompletionSource<bool>? _pending;
    private CancellationTokenSource? _reading;
    private bool _first = true;

    public SlotReader(RingConsumer ring, CancellationToken stopReading, Occupancy occupancy)
    {
        _ring = ring;
        _stopReading = stopReading;
        _occupancy = occupancy;
        // One copy out of the ring into a pooled buffer; the dispatcher reads it in place.
        _deliver = span => _ready.Enqueue(MemberMessageBuffer.Copy(span));
        _ring.MessageLimit = SharedMemoryListener.FirstMessageLimit;
    }

    public MemberMessageBuffer Current { get; private set; } = null!;

    public IAsyncEnumerator<MemberMessageBuffer> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        _reading = CancellationTokenSource.CreateLinkedTokenSource(_stopReading, cancellationToken);
        return this;
    }

    public ValueTask<bool> MoveNextAsync()
    {
        if (Thread.CurrentThread == _home)
        {
            return new(Read());
        }

        var pending = new TaskCompletionSource<bool>();
        Volatile.Write(ref _pending, pending);
        _wake.Set();
        return new(pending.Task);
    }

    /// <summary>The slot thread: performs reads asked from other threads until the session ends.</summary>
    public void ServeUntil(Task session)
    {
        _ = session.ContinueWith(static (_, wake) => ((ManualResetEventSlim)wake!).Set(), _wake,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        while (!session.IsCompleted)
        {
            _wake.Wait();
            _wake.Reset();
            if (Interlocked.Exchange(ref _pending, null) is not { } pending)
            {
                continue;
            }

            bool result;
            try
            {
                result = Read();
            }
            catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
            {
                pending.SetException(e);
                continue;
            }

            // The session resumes here, on this thread, until it next waits on something else.
            pending.SetResult(result);
        }
    }

    private bool Read()
    {
        try
        {
            var token = _reading?.Token ?? _stopReading;
            while (_ready.Count == 0)
            {
                _ring.WaitForData(token);
                if (_first)
                {
                    // Only the first message is held to the small limit; the next may be a batch.
                    if (_ring.Drain(_deliver, maxMessages: 1) > 0)
                    {
                        _first = false;
                        _ring.MessageLimit = 0;
                    }
                }
                else
                {
                    _ = _ring.Drain(_deliver);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
        {
            // The member left or died, or the runtime stops: the incoming stream ends.
            return false;
        }
        catch (SharedMemoryFormatException e)
        {
            // The member broke the ring's rules: this occupancy is over, the slot is freed.
            _occupancy.Violate(e);
            throw new SessionRejectedException(StatusCode.InvalidArgument, e.Message);
        }

        Current = _ready.Dequeue();
        return true;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Frames read but never taken go back to the pool.</summary>
    public void Dispose()
    {
        while (_ready.TryDequeue(out var frame))
        {
            frame.Release();
        }

        _wake.Dispose();
        _reading?.Dispose();
    }
}

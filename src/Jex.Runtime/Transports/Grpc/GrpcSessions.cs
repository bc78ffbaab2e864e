namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// The Transform calls still running, so a stop can wait for the last one instead of guessing:
/// Kestrel's graceful stop ends when the connections close, which can be before a session's final
/// writes and its user code have finished.
/// </summary>
internal sealed class GrpcSessions
{
    private readonly Lock _gate = new();
    private int _open;
    private TaskCompletionSource? _idle;

    public int Open
    {
        get
        {
            lock (_gate)
            {
                return _open;
            }
        }
    }

    /// <summary>Counts a call in; dispose the result when it ends.</summary>
    public Scope Enter()
    {
        lock (_gate)
        {
            _open++;
        }

        return new Scope(this);
    }

    /// <summary>Completes when no call is open (at once if none is).</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            if (_open == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private void Exit()
    {
        TaskCompletionSource? idle = null;
        lock (_gate)
        {
            if (--_open == 0)
            {
                idle = _idle;
                _idle = null;
            }
        }

        idle?.TrySetResult();
    }

    internal readonly struct Scope(GrpcSessions sessions) : IDisposable
    {
        public void Dispose() => sessions.Exit();
    }
}

using System.Diagnostics;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// One batch in flight: its items run in order; the batch has its own cancellation, linked to the
/// session and to its deadline. Whatever happens, the member gets one BatchResult with one result
/// per item.
/// </summary>
internal sealed class BatchRun
{
    private readonly Session _session;
    private readonly Batch _batch;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadline;
    private volatile bool _cancelledByMember;

    public BatchRun(Session session, Batch batch)
    {
        _session = session;
        _batch = batch;
        if (batch.DeadlineMs > 0)
        {
            _deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(batch.DeadlineMs));
            _cts = CancellationTokenSource.CreateLinkedTokenSource(session.Token, _deadline.Token);
        }
        else
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
        }
    }

    public ulong Id => _batch.Id;

    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start() => Completion = Task.Run(RunAsync);

    public void CancelByMember()
    {
        _cancelledByMember = true;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished in the meantime: cancelling a finished batch does nothing.
        }
    }

    private async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var items = _batch.Items;
        var result = new BatchResult { BatchId = _batch.Id };
        // Exact sizes: RepeatedField otherwise grows from 8 slots by doubling, which is most of
        // the garbage a batch makes beyond the messages themselves.
        result.Results.Capacity = items.Count;
        var errors = 0;
        var token = _cts.Token;
        var logger = new ForwardingLogger(_session.UserLogger, _session.UserCategory,
            _session.Writer, _session.ForwardLevel, _batch.Id);
        var context = new InvocationContext(_session.Info, logger, (long)_batch.Id, token);
        var invoker = _session.Function.Invoker;
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (token.IsCancellationRequested)
                {
                    errors += FillStopped(result, items.Count - i);
                    break;
                }

                context.MoveTo(items[i]);
                ItemResult itemResult;
                try
                {
                    var pending = invoker.InvokeAsync(context);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        // A call that outlives the deadline is abandoned, not awaited: the batch
                        // answers on time and the call's eventual failure is logged.
                        var task = pending.AsTask();
                        try
                        {
                            await task.WaitAsync(token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!task.IsCompleted)
                        {
                            ObserveAbandoned(task);
                            throw;
                        }
                    }

                    var outputs = new Outputs();
                    outputs.Outputs_.Capacity = context.Outputs.Count;
                    outputs.Outputs_.AddRange(context.Outputs);
                    itemResult = new ItemResult { Ok = outputs };
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    errors += FillStopped(result, items.Count - i);
                    break;
                }
                catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
                {
                    errors++;
                    itemResult = new ItemResult { Error = ToItemError(e) };
                    Log.ItemFailed(_session.Logger, e, _session.Id, i, _batch.Id);
                }

                result.Results.Add(itemResult);
            }

            result.ElapsedUs = (ulong)Stopwatch.GetElapsedTime(started).Ticks / 10;
            await SendAsync(result).ConfigureAwait(false);
        }
        finally
        {
            _cts.Dispose();
            _deadline?.Dispose();
            _session.OnBatchDone(this, items.Count, errors);
        }
    }

    private async Task SendAsync(BatchResult result)
    {
        var schemas = _session.Info.PendingSchemas;
        if (schemas.Count > 0)
        {
            Schemas? toSend = null;
            lock (schemas)
            {
                if (schemas.Count > 0)
                {
                    toSend = new Schemas { Schemas_ = { schemas } };
                    schemas.Clear();
                }
            }

            if (toSend is not null)
            {
                await _session.Writer.WriteAsync(new RuntimeMessage { Schemas = toSend }).ConfigureAwait(false);
            }
        }

        // Not cancellable by the session token: a result is only dropped when the channel closes,
        // which happens only once nobody can receive it.
        await _session.Writer.WriteAsync(new RuntimeMessage { Result = result }).ConfigureAwait(false);
    }

    private int FillStopped(BatchResult result, int remaining)
    {
        var (code, message) = _deadline is { IsCancellationRequested: true } && !_cancelledByMember
            ? (ItemError.Types.Code.DeadlineExceeded, $"batch {_batch.Id} ran past its deadline of {_batch.DeadlineMs} ms")
            : _cancelledByMember
                ? (ItemError.Types.Code.Cancelled, $"batch {_batch.Id} was cancelled by the member")
                : (ItemError.Types.Code.Cancelled, $"batch {_batch.Id} was cancelled: the session ended");
        var error = new ItemError { Code = code, Type = "Jex." + code, Message = message };
        for (var i = 0; i < remaining; i++)
        {
            result.Results.Add(new ItemResult { Error = error });
        }

        Log.BatchStopped(_session.Logger, _session.Id, _batch.Id, code.ToString(), remaining);
        return remaining;
    }

    private static ItemError ToItemError(Exception e) => e switch
    {
        PayloadBindingException binding => new ItemError
        {
            Code = binding.Code,
            Type = (binding.InnerException ?? binding).GetType().FullName ?? "Exception",
            Message = binding.Message,
            Stack = binding.InnerException?.StackTrace ?? string.Empty,
        },
        _ => new ItemError
        {
            Code = ItemError.Types.Code.UserException,
            Type = e.GetType().FullName ?? e.GetType().Name,
            Message = e.Message,
            Stack = e.StackTrace ?? string.Empty,
        },
    };

    private void ObserveAbandoned(Task task)
    {
        var session = _session;
        var batchId = _batch.Id;
        _ = task.ContinueWith(
            t => Log.AbandonedCallFailed(session.Logger, t.Exception!.GetBaseException(), session.Id, session.Function.Name, batchId),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}

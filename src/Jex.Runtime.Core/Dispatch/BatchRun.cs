using System.Diagnostics;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Deploy;
using Jex.Runtime.Diagnostics;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// One batch in flight: its items run in order (or, in an ORDERING_KEY session, through the
/// session's <see cref="KeyOrderedScheduler"/>: BatchRun.Keyed.cs); the batch has its own
/// cancellation, linked to the session and to its deadline. Whatever happens, the member gets one BatchResult with one result
/// per item.
/// </summary>
internal sealed partial class BatchRun
{
    private readonly SessionContext _context;
    private readonly Session _session;
    private readonly MemberMessageBuffer _batch;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadline;
    private volatile bool _cancelledByMember;

    // The code the batch runs on, counted there until the batch ends; dropped then, so a finished
    // batch that something still references does not keep retired code loaded.
    private CodeBinding? _binding;

    public BatchRun(SessionContext context, Session session, MemberMessageBuffer batch, CodeBinding binding)
    {
        _context = context;
        _binding = binding;
        _session = session;
        _batch = batch;
        Id = batch.BatchId;
        DeadlineMs = batch.DeadlineMs;
        Started = Stopwatch.GetTimestamp();
        if (batch.DeadlineMs > 0)
        {
            _deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(batch.DeadlineMs));
            _cts = CancellationTokenSource.CreateLinkedTokenSource(context.Token, _deadline.Token);
        }
        else
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(context.Token);
        }
    }

    public ulong Id { get; }

    public uint DeadlineMs { get; }

    /// <summary>When the batch was accepted (<see cref="Stopwatch"/> ticks).</summary>
    public long Started { get; }

    /// <summary>Set by the watchdog once it reported this batch as stuck, so it reports it once.</summary>
    public bool ReportedStuck { get; set; }

    public bool IsCompleted => Completion.IsCompleted;

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the batch on the thread pool, or on this thread up to its first real await.</summary>
    public void Start(bool inline) => Completion = _context.Scheduler is { } scheduler
        ? StartKeyed(scheduler, inline)
        : inline ? RunAsync() : Task.Run(RunAsync);

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
        var batch = _batch;
        var count = batch.ItemCount;
        var batchId = batch.BatchId;
        var maxMessageBytes = _context.MaxMessageBytes;
        var result = new BatchResultWriter(batchId, batch.BatchBytes, maxMessageBytes, count);
        var inFlightHandedOver = false;
        var errors = 0;
        var filtered = 0;
        // Nothing (and free) unless a listener samples Jex.Runtime; the batch's Activity is then
        // Activity.Current, so user code's logs and its own activities join the member's trace. Not
        // kept in a local: every local that lives across an await grows this method's state
        // machine, allocated per batch; StopBatch finds it again through Activity.Current.
        RuntimeActivity.StartBatch(batch, _context.FunctionName);
        var token = _cts.Token;
        var logger = new ForwardingLogger(_context.UserLogger, _context.UserCategory,
            _context.Writer, _context.ForwardLevel, batchId);
        var context = new InvocationContext(_context.Info, logger, (long)batchId, token);
        var binding = _binding!;
        var invoker = binding.Invoker;
        long elapsedUs = long.MaxValue;
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (token.IsCancellationRequested)
                {
                    errors += FillStopped(result, count - i);
                    break;
                }

                context.MoveTo(batch, batch.Items[i]);
                try
                {
                    // A call that outlives the deadline is abandoned, not awaited: the batch
                    // answers on time and the call's eventual failure is logged.
                    await ItemCall.InvokeAsync(invoker, context, token, OnAbandoned, this).ConfigureAwait(false);
                    if (context.Outputs.IsEmpty)
                    {
                        filtered++;
                    }

                    result.AddOk(context.Outputs);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    errors += FillStopped(result, count - i);
                    break;
                }
                catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
                {
                    errors++;
                    var error = ToItemError(e);
                    _context.Metrics?.ItemsFailed(error.Code, 1);
                    result.AddEncoded(new ItemResult { Error = error }.ToByteArray());
                    Log.ItemFailed(_context.Logger, e, _context.Id, i, batchId);
                }
            }

            elapsedUs = (long)Stopwatch.GetElapsedTime(started).Ticks / 10;
            if (result.TooLargeCount > 0)
            {
                errors += result.TooLargeCount;
                _context.Metrics?.ItemsFailed(ItemError.Types.Code.ResultTooLarge, result.TooLargeCount);
                Log.ResultTooLarge(_context.Logger, _context.Id, _context.FunctionName, batchId, result.TooLargeCount, maxMessageBytes);
            }

            var encoded = result.Finish((ulong)elapsedUs, binding.Code.VersionIdUtf8);
            if (encoded.Length > maxMessageBytes)
            {
                // Only when even one small error per item cannot fit (tiny UserCode:MaxMessageBytes).
                Log.ResultTooLarge(_context.Logger, _context.Id, _context.FunctionName, batchId, count, maxMessageBytes);
                encoded.Release();
                _context.Metrics?.ItemsFailed(ItemError.Types.Code.ResultTooLarge, count - errors);
                errors = count;
                filtered = 0;
                encoded = WholeResultTooLarge(batchId, elapsedUs, binding.VersionId, maxMessageBytes);
            }

            encoded.HoldsInFlight = true;
            inFlightHandedOver = true;
            await SendAsync(encoded).ConfigureAwait(false);
        }
        catch
        {
            result.Discard();
            throw;
        }
        finally
        {
            _cts.Dispose();
            _deadline?.Dispose();
            context.Dispose();
            if (!context.IsAbandoned)
            {
                // An abandoned call may still read its item: that buffer is left to the GC.
                batch.Release();
            }

            if (!inFlightHandedOver)
            {
                _context.InFlight.Release();
            }

            _context.Metrics?.BatchFinished(count, errors, filtered, elapsedUs);
            RuntimeActivity.StopBatch(errors);

            _session.OnBatchDone(this, count, errors, elapsedUs);
            _binding = null;
            binding.Exit();
        }
    }

    private async Task SendAsync(RuntimeMessageBuffer result)
    {
        // A format's messages (new Compact schemas) must reach the member before the result that needs them.
        if (_context.Info.Format?.TakePending() is { } before)
        {
            await _context.Writer.SendAsync(RuntimeMessageBuffer.From(before)).ConfigureAwait(false);
        }

        // Not cancellable by the session token: a result is only dropped (and released by the
        // writer) once nobody can receive it.
        await _context.Writer.SendAsync(result).ConfigureAwait(false);
    }

    /// <summary>
    /// The batch-level answer when even one small error per item does not fit in a message (a tiny
    /// UserCode:MaxMessageBytes): every item failed with CODE_RESULT_TOO_LARGE.
    /// </summary>
    private static RuntimeMessageBuffer WholeResultTooLarge(ulong batchId, long elapsedUs, string codeVersion, int maxMessageBytes) =>
        RuntimeMessageBuffer.From(new RuntimeMessage
        {
            Result = new BatchResult
            {
                BatchId = batchId,
                ElapsedUs = (ulong)elapsedUs,
                CodeVersion = codeVersion,
                Error = new ItemError
                {
                    Code = ItemError.Types.Code.ResultTooLarge,
                    Type = "Jex.ResultTooLarge",
                    Message = $"the result of batch {batchId} exceeds UserCode:MaxMessageBytes ({maxMessageBytes})",
                },
            },
        });

    private int FillStopped(BatchResultWriter result, int remaining)
    {
        var error = StoppedItem();
        result.AddEncoded(error.ToByteArray(), remaining);
        _context.Metrics?.ItemsFailed(error.Error.Code, remaining);
        Log.BatchStopped(_context.Logger, _context.Id, Id, error.Error.Code.ToString(), remaining);
        return remaining;
    }

    /// <summary>What an item the batch's stop kept from running gets: deadline, member's cancel, or the session's end.</summary>
    private ItemResult StoppedItem()
    {
        var (code, message) = _deadline is { IsCancellationRequested: true } && !_cancelledByMember
            ? (ItemError.Types.Code.DeadlineExceeded, $"batch {Id} ran past its deadline of {_batch.DeadlineMs} ms")
            : _cancelledByMember
                ? (ItemError.Types.Code.Cancelled, $"batch {Id} was cancelled by the member")
                : (ItemError.Types.Code.Cancelled, $"batch {Id} was cancelled: the session ended");
        return new ItemResult { Error = new ItemError { Code = code, Type = "Jex." + code, Message = message } };
    }

    /// <summary>The item error the member gets for an exception from binding or from user code; the test kit uses it too.</summary>
    internal static ItemError ToItemError(Exception e) => e switch
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

    private static readonly Action<Task, object?> OnAbandoned = static (task, state) =>
    {
        var run = (BatchRun)state!;
        run.ObserveAbandoned(task);
        run._session.OnAbandoned(run, task, run._batch.Length);
    };

    private void ObserveAbandoned(Task task)
    {
        var session = _context;
        var batchId = Id;
        _ = task.ContinueWith(
            t => Log.AbandonedCallFailed(session.Logger, t.Exception!.GetBaseException(), session.Id, session.FunctionName, batchId),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}

using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch.Wire;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Decides whether a batch the member sent may run: ids rise, limits hold, the runtime is not
/// drowning in abandoned calls, and an in-flight permit is free. Called by the reader only, which
/// never waits here: it must stay free for Ping, Cancel and Drain.
/// </summary>
internal sealed class BatchAdmission(SessionContext context, UserCodeOptions options)
{
    private ulong? _lastBatchId;

    /// <summary>
    /// Admits the batch (and takes its in-flight permit), or says how to answer it. A refused
    /// batch's id still counts as seen, except when it came after Drain or had id 0.
    /// </summary>
    public AdmissionVerdict Admit(MemberMessageBuffer batch, bool draining, int sessionAbandoned, int runtimeAbandoned)
    {
        if (draining)
        {
            return AdmissionVerdict.Error(ProtocolError.Types.Code.BatchAfterDrain,
                $"batch {batch.BatchId} arrived after Drain (or runtime shutdown); its {batch.ItemCount} item(s) were not processed", batch.BatchId);
        }

        if (batch.BatchId == 0)
        {
            return AdmissionVerdict.Error(ProtocolError.Types.Code.Malformed,
                $"batch id 0 is not allowed (ids start at 1); its {batch.ItemCount} item(s) were not processed", null);
        }

        if (_lastBatchId is { } last && batch.BatchId <= last)
        {
            return AdmissionVerdict.Error(ProtocolError.Types.Code.DuplicateBatchId,
                $"batch id {batch.BatchId} is not above the previous id {last}; its {batch.ItemCount} item(s) were not processed", batch.BatchId);
        }

        _lastBatchId = batch.BatchId;
        var limits = context.Limits;
        if (batch.OverLimit || batch.ItemCount > limits.MaxBatchItems || batch.BatchBytes > limits.MaxBatchBytes)
        {
            return AdmissionVerdict.Refusal(ItemError.Types.Code.BatchTooLarge,
                $"batch {batch.BatchId} has {batch.ItemCount} items and {batch.BatchBytes} bytes; the session's limits are {limits.MaxBatchItems} items and {limits.MaxBatchBytes} bytes (Ready.limits)");
        }

        if (sessionAbandoned >= options.MaxAbandonedCallsPerSession || runtimeAbandoned >= options.MaxAbandonedCalls)
        {
            return AdmissionVerdict.Refusal(ItemError.Types.Code.Overloaded,
                $"batch {batch.BatchId} was not run: {sessionAbandoned} call(s) of this session and {runtimeAbandoned} in the runtime were abandoned at their deadline and still run (limits UserCode:MaxAbandonedCallsPerSession={options.MaxAbandonedCallsPerSession}, UserCode:MaxAbandonedCalls={options.MaxAbandonedCalls}); retry later or recycle the runtime");
        }

        // A member that sends more than it agreed to gets its extra batch back unprocessed.
        if (!context.InFlight.Wait(0))
        {
            return AdmissionVerdict.Error(ProtocolError.Types.Code.TooManyInFlight,
                $"batch {batch.BatchId} is over the session's limit of {limits.MaxInFlight} batch(es) in flight (Ready.limits.max_in_flight); its {batch.ItemCount} item(s) were not processed", batch.BatchId);
        }

        return default;
    }
}

/// <summary>
/// How to answer a batch: run it (the default), a ProtocolError (the member broke the protocol),
/// or a batch-level error in its BatchResult (the batch was fine but cannot run now).
/// </summary>
internal readonly record struct AdmissionVerdict(
    AdmissionOutcome Outcome, ProtocolError.Types.Code ErrorCode, ItemError.Types.Code RefusalCode, string Reason, ulong? BatchId)
{
    public static AdmissionVerdict Error(ProtocolError.Types.Code code, string reason, ulong? batchId) =>
        new(AdmissionOutcome.ProtocolError, code, default, reason, batchId);

    public static AdmissionVerdict Refusal(ItemError.Types.Code code, string reason) =>
        new(AdmissionOutcome.Refused, default, code, reason, null);
}

internal enum AdmissionOutcome
{
    Admitted,
    ProtocolError,
    Refused,
}

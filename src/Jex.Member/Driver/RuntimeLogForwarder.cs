using System.Globalization;
using Jex.Member.Diagnostics;
using Microsoft.Extensions.Logging;
using Log = Jex.Member.Diagnostics.Log;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Member.Driver;

/// <summary>
/// Writes the runtime's forwarded log records (its own and the user code's) to the member's log, at
/// the runtime's level, tagged with the job, the stage and the driver's batch sequence.
/// </summary>
internal sealed class RuntimeLogForwarder
{
    private readonly ILogger _logger;
    private readonly BatchLedger _ledger;
    private readonly string _job;
    private readonly string _stage;

    public RuntimeLogForwarder(ILogger logger, BatchLedger ledger, string job, string stage)
    {
        _logger = logger;
        _ledger = ledger;
        _job = job;
        _stage = stage;
    }

    public void Forward(Protocol.V1.Log log)
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
        var inFlight = log.BatchId == 0 ? null : _ledger.BatchOf(log.BatchId);
        var batch = log.BatchId == 0 ? "-"
            : inFlight is not null ? inFlight.Sequence.ToString(CultureInfo.InvariantCulture)
            : "wire-" + log.BatchId.ToString(CultureInfo.InvariantCulture);
        // A record written while a traced batch ran joins its trace: at the runtime's span that
        // user code logged under when the runtime says, else at the member's span of the batch.
        using var scope = log.TraceId.Length > 0 ? _logger.BeginScope(MemberTracing.LogScope(log.TraceId, log.SpanId))
            : inFlight?.Activity is { } activity ? _logger.BeginScope(MemberTracing.LogScope(activity.TraceId.ToHexString(), activity.SpanId.ToHexString()))
            : null;
        Log.Forwarded(_logger, level, _job, _stage, batch, log.Category, log.Message,
            string.IsNullOrEmpty(log.Exception) ? "" : Environment.NewLine + log.Exception);
    }
}

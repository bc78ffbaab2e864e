using System.Diagnostics;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using ProtoLogLevel = Jex.Protocol.V1.LogLevel;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// The logger user code gets from its context: each record goes to the runtime's own log and, at
/// or above the session's level, to the member as a Log message carrying the batch id. Records go
/// through <see cref="SessionWriter.TryLog"/>, which keeps them ahead of the batch's result and
/// drops (and counts) them rather than block the user's thread when the member reads too slowly.
/// </summary>
internal sealed class ForwardingLogger : ILogger
{
    private readonly ILogger _local;
    private readonly SessionWriter _output;
    private readonly MsLogLevel _forwardLevel;
    private readonly ulong _batchId;
    private readonly string _category;
    private readonly Activity? _batchActivity;

    /// <param name="local">The runtime's own logger for the user's category.</param>
    /// <param name="category">The category the member sees.</param>
    /// <param name="output">The session's writer.</param>
    /// <param name="forwardLevel">The lowest level sent to the member.</param>
    /// <param name="batchId">The batch the records belong to.</param>
    /// <param name="batchActivity">
    /// The batch's Activity, for items that run outside its flow (key order): their records carry
    /// its ids whatever is current on the scheduler's thread. Null where the batch's Activity is
    /// current anyway (batch order).
    /// </param>
    public ForwardingLogger(ILogger local, string category, SessionWriter output, MsLogLevel forwardLevel, ulong batchId, Activity? batchActivity = null)
    {
        _local = local;
        _category = category;
        _output = output;
        _forwardLevel = forwardLevel;
        _batchId = batchId;
        _batchActivity = batchActivity;
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => _local.BeginScope(state);

    public bool IsEnabled(MsLogLevel logLevel) => logLevel >= _forwardLevel || _local.IsEnabled(logLevel);

    public void Log<TState>(MsLogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == MsLogLevel.None)
        {
            return;
        }

        // Set while the batch's Activity is (a listener samples Jex.Runtime): the ids join this
        // record to the member's trace, in the runtime's log and in the forwarded record alike.
        var activity = _batchActivity ?? Activity.Current;
        if (_local.IsEnabled(logLevel))
        {
            using (activity is null
                ? _local.BeginScope(new KeyValuePair<string, object>("BatchId", _batchId))
                : _local.BeginScope(new TraceScope(_batchId, activity.TraceId.ToHexString(), activity.SpanId.ToHexString())))
            {
                _local.Log(logLevel, eventId, state, exception, formatter);
            }
        }

        if (logLevel < _forwardLevel)
        {
            return;
        }

        var message = RuntimeMessageBuffer.From(new RuntimeMessage
        {
            Log = new Log
            {
                Level = ToProto(logLevel),
                Category = _category,
                Message = formatter(state, exception),
                Exception = exception?.ToString() ?? string.Empty,
                BatchId = _batchId,
                TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                TraceId = activity?.TraceId.ToHexString() ?? string.Empty,
                SpanId = activity?.SpanId.ToHexString() ?? string.Empty,
            },
        });

        // ILogger is synchronous and user code may log from any thread, even one the session
        // needs to make progress: a record the queue has no room for is dropped, never waited for.
        _output.TryLog(message);
    }

    public static ProtoLogLevel ToProto(MsLogLevel level) => level switch
    {
        MsLogLevel.Trace => ProtoLogLevel.Trace,
        MsLogLevel.Debug => ProtoLogLevel.Debug,
        MsLogLevel.Information => ProtoLogLevel.Information,
        MsLogLevel.Warning => ProtoLogLevel.Warning,
        MsLogLevel.Error => ProtoLogLevel.Error,
        MsLogLevel.Critical => ProtoLogLevel.Critical,
        _ => ProtoLogLevel.None,
    };

    public static MsLogLevel FromProto(ProtoLogLevel level, MsLogLevel unspecified) => level switch
    {
        ProtoLogLevel.Trace => MsLogLevel.Trace,
        ProtoLogLevel.Debug => MsLogLevel.Debug,
        ProtoLogLevel.Information => MsLogLevel.Information,
        ProtoLogLevel.Warning => MsLogLevel.Warning,
        ProtoLogLevel.Error => MsLogLevel.Error,
        ProtoLogLevel.Critical => MsLogLevel.Critical,
        ProtoLogLevel.None => MsLogLevel.None,
        _ => unspecified,
    };
}

/// <summary>The scope of a user log record written while a batch is traced: the batch id and the W3C trace and span ids.</summary>
internal sealed class TraceScope(ulong batchId, string traceId, string spanId) : IReadOnlyList<KeyValuePair<string, object>>
{
    public int Count => 3;

    public KeyValuePair<string, object> this[int index] => index switch
    {
        0 => new("BatchId", batchId),
        1 => new("TraceId", traceId),
        2 => new("SpanId", spanId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"BatchId:{batchId} TraceId:{traceId} SpanId:{spanId}";
}

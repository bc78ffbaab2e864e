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

    public ForwardingLogger(ILogger local, string category, SessionWriter output, MsLogLevel forwardLevel, ulong batchId)
    {
        _local = local;
        _category = category;
        _output = output;
        _forwardLevel = forwardLevel;
        _batchId = batchId;
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => _local.BeginScope(state);

    public bool IsEnabled(MsLogLevel logLevel) => logLevel >= _forwardLevel || _local.IsEnabled(logLevel);

    public void Log<TState>(MsLogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == MsLogLevel.None)
        {
            return;
        }

        if (_local.IsEnabled(logLevel))
        {
            using (_local.BeginScope(new KeyValuePair<string, object>("BatchId", _batchId)))
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

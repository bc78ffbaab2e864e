using Jex.Protocol.V1;
using Jex.Protocol.Wire;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// The start of a session: reads the Init (and nothing else, cheaply), accepts it, fixes the
/// session's <see cref="SessionContext"/>, and builds the Ready that answers it.
/// </summary>
internal sealed class SessionHandshake(SessionProcessor processor, long id, CancellationTokenSource session)
{
    /// <summary>
    /// Reads the first message, which must be an Init, spending on anything else no more than
    /// its first tag: a session that has not authenticated gets no parsing, no item array and no
    /// time beyond UserCode:InitTimeoutSeconds. Null when the stream ended first.
    /// </summary>
    public async Task<Init?> ReadInitAsync(IAsyncEnumerator<MemberMessageBuffer> enumerator)
    {
        var options = processor.Options;
        using var initTimer = new CancellationTokenSource(TimeSpan.FromSeconds(options.InitTimeoutSeconds));
        bool received;
        using (initTimer.Token.Register(static s => ((CancellationTokenSource)s!).Cancel(), session))
        {
            try
            {
                received = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (initTimer.IsCancellationRequested && e is not SessionRejectedException)
            {
                received = false;
            }
        }

        if (initTimer.IsCancellationRequested)
        {
            if (received)
            {
                enumerator.Current.Release();
            }

            throw Refuse(StatusCode.DeadlineExceeded,
                $"no Init within {options.InitTimeoutSeconds} s (UserCode:InitTimeoutSeconds); the session is closed");
        }

        if (!received)
        {
            return null;
        }

        var buffer = enumerator.Current;
        if (buffer.Length > options.MaxInitBytes)
        {
            var field = buffer.FirstField();
            buffer.Release();
            throw field == 1
                ? Refuse(StatusCode.ResourceExhausted, $"the first message is a {buffer.Length}-byte Init; an Init is at most {options.MaxInitBytes} bytes (UserCode:MaxInitBytes)")
                : Refuse(StatusCode.FailedPrecondition, $"the first message of a session must be Init, not {KindName(field)} ({buffer.Length} bytes)");
        }

        var kind = buffer.FirstField();
        if (kind != 1)
        {
            buffer.Release();
            throw Refuse(StatusCode.FailedPrecondition, $"the first message of a session must be Init, not {KindName(kind)}");
        }

        var first = Parse(buffer, 0, 0);
        buffer.Release();
        if (first?.KindCase != MemberMessage.KindOneofCase.Init)
        {
            throw Refuse(StatusCode.FailedPrecondition,
                $"the first message of a session must be Init, not {first?.KindCase.ToString() ?? nameof(MemberMessage.KindOneofCase.Batch)}");
        }

        return first.Init;
    }

    /// <summary>Accepts the Init (or throws <see cref="SessionRejectedException"/>) and fixes the session's context.</summary>
    public SessionContext Accept(Init init, ISessionOutput output)
    {
        var keyFormat = init.KeyFormat == Format.Unspecified ? Format.Bytes : init.KeyFormat;
        var valueFormat = init.ValueFormat == Format.Unspecified ? Format.Bytes : init.ValueFormat;
        var code = processor.Accept(init, id, keyFormat, valueFormat);
        var options = processor.Options;
        var limits = new SessionLimits(
            MaxInFlight: init.MaxInFlight == 0 ? options.MaxInFlight : (int)Math.Min(init.MaxInFlight, (uint)options.MaxInFlight),
            MaxBatchBytes: init.MaxBatchBytes == 0 ? options.MaxBatchBytes : (int)Math.Min(init.MaxBatchBytes, (uint)options.MaxBatchBytes),
            MaxBatchItems: init.MaxBatchItems == 0 ? options.MaxBatchItems : (int)Math.Min(init.MaxBatchItems, (uint)options.MaxBatchItems));
        var info = new SessionInfo
        {
            JobId = init.JobId,
            JobName = init.JobName,
            StageName = init.StageName,
            FunctionName = init.Function,
            KeyFormat = keyFormat,
            ValueFormat = valueFormat,
            Settings = new Dictionary<string, string>(init.Settings, StringComparer.Ordinal),
            // Compact schema state holds schemas, not user types: it outlives a switch of code version.
            Format = processor.Versions.Codecs?.SessionFormat?.StartSession(),
            Id = id,
            Logger = processor.Logger,
        };
        var userCategory = $"UserCode.{code.FunctionName}";
        var inFlight = new SemaphoreSlim(limits.MaxInFlight, limits.MaxInFlight);
        var context = new SessionContext
        {
            Id = id,
            Info = info,
            FunctionName = code.FunctionName,
            Code = code,
            Logger = processor.Logger,
            UserLogger = processor.LoggerFactory.CreateLogger(userCategory),
            UserCategory = userCategory,
            ForwardLevel = ForwardingLogger.FromProto(init.LogLevel, Microsoft.Extensions.Logging.LogLevel.Information),
            Limits = limits,
            MaxMessageBytes = options.MaxMessageBytes,
            InFlight = inFlight,
            Writer = new SessionWriter(output, session, inFlight, processor.Counters),
            Token = session.Token,
            Signature = code.Signature,
        };
        Log.SessionStarted(processor.Logger, id, init.JobName, init.StageName, init.Function, context.Signature.Input, context.Signature.Output, limits.MaxInFlight);
        return context;
    }

    public Ready BuildReady(SessionContext context)
    {
        var ready = new Ready
        {
            RuntimeVersion = RuntimeInfo.Version,
            Pid = Environment.ProcessId,
            Signature = context.Signature,
            Capabilities = { "cancel", "deadline", "filter", "flat-map", "logs", "stats" },
            Limits = new Limits
            {
                MaxBatchBytes = (uint)context.Limits.MaxBatchBytes,
                MaxBatchItems = (uint)context.Limits.MaxBatchItems,
                MaxInFlight = (uint)context.Limits.MaxInFlight,
                MaxMessageBytes = (uint)context.MaxMessageBytes,
            },
            CodeVersion = context.Code.Current?.VersionId ?? string.Empty,
        };
        if (processor.Versions.Codecs?.SessionFormat is { } format)
        {
            ready.Capabilities.Add(format.Capability);
        }

        return ready;
    }

    /// <summary>
    /// Reads a message buffer: null for a batch (read in place, the buffer stays alive), else the message
    /// (the caller releases the buffer). Bytes that are not a MemberMessage end the session.
    /// </summary>
    public MemberMessage? Parse(MemberMessageBuffer buffer, int maxItems, int maxBatchBytes)
    {
        try
        {
            buffer.Parse(maxItems, maxBatchBytes);
        }
        catch (MalformedMessageException e)
        {
            buffer.Release();
            throw Refuse(StatusCode.InvalidArgument, $"a {buffer.Length}-byte message is not a valid MemberMessage: {e.Message}");
        }

        return buffer.IsBatch ? null : buffer.Message;
    }

    private SessionRejectedException Refuse(StatusCode status, string reason)
    {
        Log.SessionRejected(processor.Logger, id, status.ToString(), reason);
        return new SessionRejectedException(status, reason);
    }

    private static string KindName(int field) => field switch
    {
        1 => nameof(MemberMessage.KindOneofCase.Init),
        2 => nameof(MemberMessage.KindOneofCase.Schemas),
        3 => nameof(MemberMessage.KindOneofCase.Batch),
        4 => nameof(MemberMessage.KindOneofCase.Cancel),
        5 => nameof(MemberMessage.KindOneofCase.Ping),
        6 => nameof(MemberMessage.KindOneofCase.Drain),
        0 => "an empty or malformed message",
        _ => $"unknown field {field}",
    };
}

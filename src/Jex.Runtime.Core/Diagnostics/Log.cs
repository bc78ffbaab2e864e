namespace Jex.Runtime.Diagnostics;

/// <summary>
/// The log records of sessions, dispatch and user-code loading. Event ids are stable and grouped
/// by area: 1xx hosting, 2xx user code, 3xx sessions and dispatch, 4xx transports; the host's own
/// records (jex-runtime) are in its HostLog and use the same id space.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(101, LogLevel.Warning, "UserCode:Token is not set: every session is accepted without authentication")]
    public static partial void NoToken(ILogger logger);

    [LoggerMessage(103, LogLevel.Information, "Shutting down: draining {Sessions} session(s)")]
    public static partial void Draining(ILogger logger, int sessions);

    [LoggerMessage(200, LogLevel.Information, "Loaded function {Function} = {Method} ({Input} -> {Output}) from {Assembly}")]
    public static partial void FunctionLoaded(ILogger logger, string function, string method, string input, string output, string assembly);

    [LoggerMessage(201, LogLevel.Warning, "Session {SessionId}: function {Function} takes a {Type}, but none of its properties ({Properties}) matches a field of the JSON input (fields seen: {Fields}), so every property keeps its default; rename the properties or the fields (names match case-insensitively), or use [JsonPropertyName]. Logged once per session")]
    public static partial void JsonFieldsUnmatched(ILogger logger, long sessionId, string function, string type, string fields, string properties);

    [LoggerMessage(210, LogLevel.Information, "Deploy: stored version {Version} ({Label}): {Files} file(s), {Bytes} bytes, in {Directory}")]
    public static partial void VersionStored(ILogger logger, string version, string label, int files, long bytes, string directory);

    [LoggerMessage(211, LogLevel.Warning, "Deploy: upload refused ({Status}): {Reason}")]
    public static partial void UploadRefused(ILogger logger, string status, string reason);

    [LoggerMessage(212, LogLevel.Information, "Deploy: version {Version} is current (was {Previous}), loaded and checked in {LoadUs} us; {Sessions} session(s) move to it at their next batch; functions: {Functions}")]
    public static partial void Activated(ILogger logger, string version, string previous, long loadUs, int sessions, string functions);

    [LoggerMessage(213, LogLevel.Warning, "Deploy: version {Version} not activated: {Reason}")]
    public static partial void ActivationFailed(ILogger logger, string version, string reason);

    [LoggerMessage(214, LogLevel.Information, "Deploy: version {Version} (activation {Generation}) has no batch left and was unloaded")]
    public static partial void Unloaded(ILogger logger, string version, long generation);

    [LoggerMessage(215, LogLevel.Information, "Deploy: version {Version} removed")]
    public static partial void Removed(ILogger logger, string version);

    [LoggerMessage(216, LogLevel.Warning, "Deploy: call refused: {Reason}")]
    public static partial void DeployCallRefused(ILogger logger, string reason);

    [LoggerMessage(300, LogLevel.Information, "Session {SessionId} started: job={JobName} stage={Stage} function={Function} ({Input} -> {Output}) inflight={MaxInFlight}")]
    public static partial void SessionStarted(ILogger logger, long sessionId, string jobName, string stage, string function, string input, string output, int maxInFlight);

    [LoggerMessage(301, LogLevel.Warning, "Session {SessionId} refused: {Status}: {Reason}")]
    public static partial void SessionRejected(ILogger logger, long sessionId, string status, string reason);

    [LoggerMessage(302, LogLevel.Information, "Session {SessionId} ended: {Batches} batches, {Items} items, {Errors} item errors")]
    public static partial void SessionEnded(ILogger logger, long sessionId, long batches, long items, long errors);

    [LoggerMessage(303, LogLevel.Warning, "Session {SessionId}: protocol error {Code}: {Reason}")]
    public static partial void ProtocolError(ILogger logger, long sessionId, string code, string reason);

    [LoggerMessage(304, LogLevel.Debug, "Session {SessionId}: peer went away: {Reason}")]
    public static partial void PeerGone(ILogger logger, long sessionId, string reason);

    [LoggerMessage(305, LogLevel.Warning, "Session {SessionId}: batch {BatchId} stopped ({Code}) with {Remaining} item(s) unfinished")]
    public static partial void BatchStopped(ILogger logger, long sessionId, ulong batchId, string code, int remaining);

    [LoggerMessage(306, LogLevel.Warning, "Session {SessionId}: an abandoned call of {Function} (batch {BatchId}) finally failed")]
    public static partial void AbandonedCallFailed(ILogger logger, Exception exception, long sessionId, string function, ulong batchId);

    [LoggerMessage(307, LogLevel.Debug, "Session {SessionId}: item {Index} of batch {BatchId} failed")]
    public static partial void ItemFailed(ILogger logger, Exception exception, long sessionId, int index, ulong batchId);

    [LoggerMessage(308, LogLevel.Warning, "Session {SessionId}: batch {BatchId} refused ({Code}), {Items} item(s) failed: {Reason}")]
    public static partial void BatchRefused(ILogger logger, long sessionId, ulong batchId, string code, int items, string reason);

    [LoggerMessage(309, LogLevel.Warning, "Session {SessionId}: {Items} item(s) of batch {BatchId} ({Function}) failed with RESULT_TOO_LARGE: their outputs exceed UserCode:MaxMessageBytes={MaxMessageBytes}")]
    public static partial void ResultTooLarge(ILogger logger, long sessionId, string function, ulong batchId, int items, int maxMessageBytes);

    [LoggerMessage(310, LogLevel.Warning, "Session {SessionId}: a call of {Function} (batch {BatchId}) ignored its deadline and was abandoned; it holds {Bytes} bytes; {Abandoned} abandoned call(s) in the runtime")]
    public static partial void CallAbandoned(ILogger logger, long sessionId, string function, ulong batchId, int bytes, int abandoned);

    [LoggerMessage(311, LogLevel.Error, "Session {SessionId}: a call of {Function} (batch {BatchId}) is stuck: still running {StuckSeconds} s past its deadline (UserCode:StuckCallSeconds); health reports NOT_SERVING until it ends; recycle the runtime if it never does")]
    public static partial void CallStuck(ILogger logger, long sessionId, string function, ulong batchId, int stuckSeconds);

    [LoggerMessage(313, LogLevel.Warning, "Session {SessionId}: a batch of {Function} run on the reading thread blocked it for over {Milliseconds} ms; another thread reads the session now")]
    public static partial void ReaderRescued(ILogger logger, long sessionId, string function, long milliseconds);

    [LoggerMessage(314, LogLevel.Warning, "Session {SessionId}: {Dropped} log record(s) of {Function} were dropped because the member did not read them fast enough (output queue of {Capacity} full); raise the session's log level or log less")]
    public static partial void LogsDropped(ILogger logger, long sessionId, string function, long dropped, int capacity);
}

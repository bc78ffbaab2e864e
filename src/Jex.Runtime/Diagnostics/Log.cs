namespace Jex.Runtime.Diagnostics;

/// <summary>
/// Every log record the runtime writes. Event ids are stable and grouped by area:
/// 1xx hosting, 2xx user code, 3xx sessions and dispatch, 4xx transports.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "jex-runtime {Version} ready: transport={Transport} address={Address} functions=[{Functions}]")]
    public static partial void Ready(ILogger logger, string version, string transport, string address, string functions);

    [LoggerMessage(101, LogLevel.Warning, "UserCode:Token is not set: every session is accepted without authentication")]
    public static partial void NoToken(ILogger logger);

    [LoggerMessage(102, LogLevel.Warning, "Parent process {ParentPid} is gone; shutting down")]
    public static partial void ParentGone(ILogger logger, int parentPid);

    [LoggerMessage(103, LogLevel.Information, "Shutting down: draining {Sessions} session(s)")]
    public static partial void Draining(ILogger logger, int sessions);

    [LoggerMessage(104, LogLevel.Information, "Stopped; removed {Path}")]
    public static partial void RemovedFile(ILogger logger, string path);

    // 12x: channel security (docs/security.md).
    [LoggerMessage(120, LogLevel.Warning, "UserCode:AllowAnonymous is set and no token is configured: any host that reaches {Address} can run sessions")]
    public static partial void AnonymousOnNetwork(ILogger logger, string address);

    [LoggerMessage(121, LogLevel.Warning, "TLS: client certificate {Subject} refused: {Reasons}")]
    public static partial void ClientCertificateRefused(ILogger logger, string subject, string reasons);

    [LoggerMessage(122, LogLevel.Information, "TLS: certificate {Subject} (valid to {NotAfter:u}), client certificates: {Mode}")]
    public static partial void TlsEnabled(ILogger logger, string subject, DateTime notAfter, string mode);

    [LoggerMessage(200, LogLevel.Information, "Loaded function {Function} = {Method} ({Input} -> {Output}) from {Assembly}")]
    public static partial void FunctionLoaded(ILogger logger, string function, string method, string input, string output, string assembly);

    [LoggerMessage(300, LogLevel.Information, "Session {SessionId} started: job={JobName} stage={Stage} function={Function} inflight={MaxInFlight}")]
    public static partial void SessionStarted(ILogger logger, long sessionId, string jobName, string stage, string function, int maxInFlight);

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

    [LoggerMessage(312, LogLevel.Warning, "gRPC call refused: {Status}: {Reason}")]
    public static partial void CallRefused(ILogger logger, string status, string reason);

    [LoggerMessage(313, LogLevel.Warning, "Session {SessionId}: a batch of {Function} run on the reading thread blocked it for over {Milliseconds} ms; another thread reads the session now")]
    public static partial void ReaderRescued(ILogger logger, long sessionId, string function, long milliseconds);

    [LoggerMessage(314, LogLevel.Warning, "Session {SessionId}: {Dropped} log record(s) of {Function} were dropped because the member did not read them fast enough (output queue of {Capacity} full); raise the session's log level or log less")]
    public static partial void LogsDropped(ILogger logger, long sessionId, string function, long dropped, int capacity);

    [LoggerMessage(420, LogLevel.Information, "Shared memory: created {Path} ({Sessions} session slot(s), rings {RingBytes} bytes)")]
    public static partial void SharedMemoryCreated(ILogger logger, string path, int sessions, int ringBytes);

    [LoggerMessage(421, LogLevel.Warning, "Shared memory: {Reason}")]
    public static partial void SharedMemoryPeerLost(ILogger logger, string reason);

    [LoggerMessage(422, LogLevel.Information, "Shared memory: slot {Slot}: session ended ({Code} {Message})")]
    public static partial void SharedMemorySessionEnded(ILogger logger, int slot, int code, string message);

    [LoggerMessage(424, LogLevel.Warning, "Shared memory: slot {Slot}: its member died or went silent ({Reason}); its session ends and the slot is freed, other slots keep serving")]
    public static partial void SharedMemoryMemberDied(ILogger logger, int slot, string reason);

    [LoggerMessage(425, LogLevel.Debug, "Shared memory: slot {Slot} recycled for the next member")]
    public static partial void SharedMemorySlotRecycled(ILogger logger, int slot);

    [LoggerMessage(423, LogLevel.Error, "Shared memory: the session failed")]
    public static partial void SharedMemorySessionFailed(ILogger logger, Exception exception);

    [LoggerMessage(426, LogLevel.Warning, "Shared memory: slot {Slot} closed: protocol violation {Code} at ring position {Position}: length {Length}, limit {Limit}: {Detail}")]
    public static partial void SharedMemoryRingViolation(ILogger logger, int slot, string code, long position, long length, long limit, string detail);

    [LoggerMessage(427, LogLevel.Error, "Shared memory: slot {Slot} failed; its session ends and the slot is freed, other slots keep serving")]
    public static partial void SharedMemorySlotFailed(ILogger logger, Exception exception, int slot);

    [LoggerMessage(428, LogLevel.Warning, "Shared memory: slot {Slot}: member pid {Pid} did not release the slot within {GraceMs} ms of its protocol violation; the slot is taken back")]
    public static partial void SharedMemorySlotEvicted(ILogger logger, int slot, int pid, long graceMs);
}

namespace Jex.Runtime.Diagnostics;

/// <summary>
/// The log records of the jex-runtime host: readiness, the parent watch, TLS and the transport
/// listeners. Event ids share one space with <see cref="Log"/> (1xx hosting, 4xx transports).
/// </summary>
internal static partial class HostLog
{
    [LoggerMessage(100, LogLevel.Information, "jex-runtime {Version} ready: transport={Transport} address={Address} functions=[{Functions}]")]
    public static partial void Ready(ILogger logger, string version, string transport, string address, string functions);

    [LoggerMessage(102, LogLevel.Warning, "Parent process {ParentPid} is gone; shutting down")]
    public static partial void ParentGone(ILogger logger, int parentPid);

    [LoggerMessage(104, LogLevel.Information, "Stopped; removed {Path}")]
    public static partial void RemovedFile(ILogger logger, string path);

    [LoggerMessage(105, LogLevel.Warning, "Drain timeout (UserCode:DrainTimeoutSeconds) passed with {Open} session(s) still open; they are cut off")]
    public static partial void DrainTimedOut(ILogger logger, int open);

    // 12x: channel security (docs/security.md).

    [LoggerMessage(120, LogLevel.Warning, "UserCode:AllowAnonymous is set and no token is configured: any host that reaches {Address} can run sessions")]
    public static partial void AnonymousOnNetwork(ILogger logger, string address);

    [LoggerMessage(121, LogLevel.Warning, "TLS: client certificate {Subject} refused: {Reasons}")]
    public static partial void ClientCertificateRefused(ILogger logger, string subject, string reasons);

    [LoggerMessage(122, LogLevel.Information, "TLS: certificate {Subject} (valid to {NotAfter:u}), client certificates: {Mode}")]
    public static partial void TlsEnabled(ILogger logger, string subject, DateTime notAfter, string mode);

    [LoggerMessage(312, LogLevel.Warning, "gRPC call refused: {Status}: {Reason}")]
    public static partial void CallRefused(ILogger logger, string status, string reason);

    [LoggerMessage(420, LogLevel.Information, "Shared memory: created {Path} ({Sessions} session slot(s), rings {RingBytes} bytes, wait {Wait}: spin {SpinMicroseconds} us on {Cores} cores)")]
    public static partial void SharedMemoryCreated(ILogger logger, string path, int sessions, int ringBytes, string wait, long spinMicroseconds, int cores);

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

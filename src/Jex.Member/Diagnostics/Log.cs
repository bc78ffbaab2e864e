using Microsoft.Extensions.Logging;

namespace Jex.Member.Diagnostics;

/// <summary>
/// Source-generated log messages of the member driver. Event ids are grouped by area:
/// 1xx launch, 2xx session, 3xx driver and recovery.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Starting runtime {Executable} (transport {Transport})")]
    public static partial void StartingRuntime(ILogger logger, string executable, string transport);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Runtime ready: pid {Pid}, address {Address}, version {Version}, in {ElapsedMs} ms")]
    public static partial void RuntimeReady(ILogger logger, int pid, string address, string version, long elapsedMs);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "runtime[{Pid}] {Line}")]
    public static partial void RuntimeOutput(ILogger logger, int pid, string line);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Runtime pid {Pid} exited with code {ExitCode}")]
    public static partial void RuntimeExited(ILogger logger, int pid, int exitCode);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Runtime pid {Pid} did not stop within {GraceMs} ms of SIGTERM; sending SIGKILL")]
    public static partial void RuntimeKilledAfterGrace(ILogger logger, int pid, long graceMs);

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "[{Job}/{Stage}] session open on {Address}: function {Function} ({Input} -> {Output}), runtime pid {Pid}")]
    public static partial void SessionOpen(ILogger logger, string job, string stage, string address, string function, string input, string output, int pid);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "[{Job}/{Stage}] opening the session failed ({Reason}); attempt {Attempt}, retrying on the same runtime")]
    public static partial void SessionOpenRetry(ILogger logger, string job, string stage, string reason, int attempt);

    // Forwarded runtime/user logs: the level is the runtime's, the tags are the driver's.
    [LoggerMessage(EventId = 201, Message = "[{Job}/{Stage}] batch {Batch} {Category}: {Text}{Exception}")]
    public static partial void Forwarded(ILogger logger, LogLevel level, string job, string stage, string batch, string category, string text, string exception);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "[{Job}/{Stage}] item error in batch {Batch} for key {Key}: {Type}: {Text}")]
    public static partial void ItemError(ILogger logger, string job, string stage, long batch, string key, string type, string text);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "[{Job}/{Stage}] runtime lost ({Reason}); {Pending} batch(es) without result will be replayed; restart {Restart} in {DelayMs} ms")]
    public static partial void RuntimeLost(ILogger logger, string job, string stage, string reason, int pending, int restart, long delayMs);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "[{Job}/{Stage}] replaying {Count} batch(es) on the new session")]
    public static partial void Replaying(ILogger logger, string job, string stage, int count);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "[{Job}/{Stage}] drained: {Batches} batch(es), {Items} item(s)")]
    public static partial void Drained(ILogger logger, string job, string stage, ulong batches, ulong items);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "[{Job}/{Stage}] the runtime is draining and did not take batch {Batch}; it goes to the next runtime")]
    public static partial void RefusedWhileDraining(ILogger logger, string job, string stage, ulong batch);
}

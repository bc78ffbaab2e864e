using System.Security.Cryptography;
using System.Text;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Serves sessions, whatever transport carries them. The gRPC service and the shared-memory
/// listener each read member messages and hand them here; this class owns the protocol: Init and
/// auth, batches and their deadlines, cancel, ping, drain, and the single writer of results.
/// </summary>
internal sealed class SessionProcessor : IDisposable
{
    private readonly CodeVersions _versions;
    private readonly UserCodeOptions _options;
    private readonly RuntimeCounters _counters;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly byte[]? _token;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, Session> _sessions = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AbandonedCall, byte> _abandoned = new();
    // How often the watchdog looks (once a second keeps the runtime asleep at rest), and how long
    // an inline batch may hold a socket reader: a blocked reader is rescued within about a second.
    private static readonly TimeSpan WatchdogPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan InlineRescueAfter = TimeSpan.FromMilliseconds(100);
    private readonly Timer _watchdog;
    private readonly object _watchdogGate = new();
    private bool _watchdogArmed;
    private long _nextSessionId;
    private int _activeSessions;
    private int _abandonedCalls;
    private int _stuck;

    /// <summary>A processor for a fixed set of functions (no deploy): results carry no code version.</summary>
    public SessionProcessor(
        FunctionCatalog catalog,
        IOptions<UserCodeOptions> options,
        RuntimeCounters counters,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime lifetime)
        : this(CodeVersions.Fixed(catalog), options, counters, loggerFactory, lifetime)
    {
    }

    public SessionProcessor(
        CodeVersions versions,
        IOptions<UserCodeOptions> options,
        RuntimeCounters counters,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime lifetime)
    {
        _versions = versions;
        _options = options.Value;
        _counters = counters;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Jex.Runtime.Session");
        _stopping = lifetime.ApplicationStopping;
        _token = string.IsNullOrEmpty(_options.Token) ? null : Encoding.UTF8.GetBytes(_options.Token);
        if (_token is null)
        {
            Log.NoToken(_logger);
        }

        lifetime.ApplicationStopping.Register(() => Log.Draining(_logger, Volatile.Read(ref _activeSessions)));
        // Armed only while there is something to watch (ArmWatchdog): a runtime at rest never wakes.
        _watchdog = new Timer(static s => ((SessionProcessor)s!).OnWatchdog(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    /// <summary>Calls abandoned at their deadline and still running, in all sessions.</summary>
    public int AbandonedCalls => Volatile.Read(ref _abandonedCalls);

    /// <summary>Calls running past their deadline by more than UserCode:StuckCallSeconds (as of the last check).</summary>
    public int StuckCalls => Volatile.Read(ref _stuck);

    /// <summary>Whether the runtime is stopping (SIGTERM): it finishes what it has and takes nothing new.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>The user code: the current version and, with deploy, the others.</summary>
    internal CodeVersions Versions => _versions;

    internal UserCodeOptions Options => _options;

    internal RuntimeCounters Counters => _counters;

    internal ILoggerFactory LoggerFactory => _loggerFactory;

    internal ILogger Logger => _logger;

    /// <summary>
    /// Runs one session to its end: the member's stream ends, it drains, the runtime stops, or the
    /// transport fails (<paramref name="cancellationToken"/>). Incoming message buffers belong to the
    /// session, which releases them. Throws
    /// <see cref="SessionRejectedException"/> when the session is refused before Ready.
    /// </summary>
    public async Task RunAsync(IAsyncEnumerable<MemberMessageBuffer> incoming, ISessionOutput output, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextSessionId);
        var active = Interlocked.Increment(ref _activeSessions);
        try
        {
            if (active > _options.MaxSessions)
            {
                // Checked before the first message is read: a refused session costs no buffer.
                throw Reject(id, StatusCode.ResourceExhausted,
                    $"{active - 1} sessions are open, the limit (UserCode:MaxSessions) is {_options.MaxSessions}; close one or raise the limit");
            }

            var session = new Session(this, id, output, cancellationToken, _stopping);
            _sessions[id] = session;
            try
            {
                await session.RunAsync(incoming).ConfigureAwait(false);
            }
            finally
            {
                _sessions.TryRemove(id, out _);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeSessions);
        }
    }

    // The member that leaves the token out is usually one pointed at a runtime someone started by
    // hand (passthru); process and container launches hand the token over themselves.
    internal const string NoTokenMessage =
        "Init carries no token, but this runtime requires one (UserCode:Token or UserCode:TokenFile is set); " +
        "send the runtime's token in Init: for jex run against a passthru runtime, pass --token or set UserCode__Token in its environment";

    internal const string WrongTokenMessage =
        "Init carries a wrong token: it is not this runtime's UserCode:Token (or the content of UserCode:TokenFile); " +
        "give the member the same token: for jex run against a passthru runtime, --token or UserCode__Token";

    /// <summary>Checks Init and binds the session to the current code's function, or refuses the session with a status.</summary>
    internal SessionCode Accept(Init init, long sessionId, Format keyFormat, Format valueFormat)
    {
        if (_token is not null && !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(init.Token), _token))
        {
            throw Reject(sessionId, StatusCode.PermissionDenied,
                string.IsNullOrEmpty(init.Token) ? NoTokenMessage : WrongTokenMessage);
        }

        if (init.ProtocolVersion != ProtocolContract.Version)
        {
            throw Reject(sessionId, StatusCode.FailedPrecondition,
                $"protocol version {init.ProtocolVersion} is not supported; this runtime speaks version {ProtocolContract.Version}");
        }

        if (init.MaxBatchBytes > _options.MaxBatchBytes)
        {
            throw Reject(sessionId, StatusCode.InvalidArgument,
                $"max_batch_bytes {init.MaxBatchBytes} exceeds this runtime's limit of {_options.MaxBatchBytes} (UserCode:MaxBatchBytes)");
        }

        try
        {
            return _versions.Bind(sessionId, init.Function, keyFormat, valueFormat);
        }
        catch (SessionRejectedException e)
        {
            throw Reject(sessionId, e.StatusCode, e.Message);
        }
    }

    /// <summary>
    /// Counts a call abandoned at its deadline until it ends: its batch's buffer stays alive that
    /// long, so these are what UserCode:MaxAbandonedCalls bounds.
    /// </summary>
    internal void OnAbandoned(Session session, BatchRun run, Task call, int heldBytes, Action onEnded)
    {
        var entry = new AbandonedCall(session.Id, session.FunctionName, run.Id, run.Started, run.DeadlineMs, call, heldBytes);
        Interlocked.Increment(ref _abandonedCalls);
        _abandoned[entry] = 0;
        Log.CallAbandoned(_logger, session.Id, session.FunctionName, run.Id, heldBytes, AbandonedCalls);
        _ = call.ContinueWith(
            static (ended, state) =>
            {
                var (processor, entry, onEnded) = ((SessionProcessor, AbandonedCall, Action))state!;
                processor._abandoned.TryRemove(entry, out _);
                // The session's count first: a runtime-wide count of 0 then means every session's is 0 too.
                onEnded();
                Interlocked.Decrement(ref processor._abandonedCalls);
            },
            (this, entry, onEnded),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Called when a batch starts (after it is registered as running): makes sure the watchdog
    /// ticks. One volatile read when it already does.
    /// </summary>
    internal void ArmWatchdog()
    {
        if (Volatile.Read(ref _watchdogArmed))
        {
            return;
        }

        lock (_watchdogGate)
        {
            if (!_watchdogArmed)
            {
                _watchdogArmed = true;
                _watchdog.Change(WatchdogPeriod, WatchdogPeriod);
            }
        }
    }

    private void OnWatchdog()
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var session in _sessions.Values)
        {
            session.RescueReader(now, InlineRescueAfter);
        }

        CheckStuck();
        lock (_watchdogGate)
        {
            // Disarm first, then look: a batch registered before this look is seen here, and one
            // registered after it finds the watchdog disarmed and arms it again.
            Volatile.Write(ref _watchdogArmed, false);
            Interlocked.MemoryBarrier();
            if (!_abandoned.IsEmpty || _sessions.Values.Any(static s => s.Running.Count > 0))
            {
                _watchdogArmed = true;
            }
            else
            {
                _watchdog.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Once a second: finds calls running past their deadline by UserCode:StuckCallSeconds, those
    /// abandoned and those a synchronous function never returned from, reports each once at Error,
    /// and counts them for the health check.
    /// </summary>
    internal void CheckStuck()
    {
        try
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            var stuck = 0;
            foreach (var call in _abandoned.Keys)
            {
                if (IsStuck(call.Started, call.DeadlineMs, now))
                {
                    stuck++;
                    if (!call.Reported)
                    {
                        call.Reported = true;
                        Log.CallStuck(_logger, call.SessionId, call.Function, call.BatchId, _options.StuckCallSeconds);
                    }
                }
            }

            foreach (var session in _sessions.Values)
            {
                foreach (var run in session.Running)
                {
                    if (!run.IsCompleted && IsStuck(run.Started, run.DeadlineMs, now))
                    {
                        stuck++;
                        if (!run.ReportedStuck)
                        {
                            run.ReportedStuck = true;
                            Log.CallStuck(_logger, session.Id, session.FunctionName, run.Id, _options.StuckCallSeconds);
                        }
                    }
                }
            }

            Volatile.Write(ref _stuck, stuck);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            // A session ended while it was being looked at; the next check sees the new state.
        }
    }

    private bool IsStuck(long started, uint deadlineMs, long now) =>
        System.Diagnostics.Stopwatch.GetElapsedTime(started, now) > TimeSpan.FromMilliseconds(deadlineMs) + TimeSpan.FromSeconds(_options.StuckCallSeconds);

    public void Dispose() => _watchdog.Dispose();

    private sealed class AbandonedCall(long sessionId, string function, ulong batchId, long started, uint deadlineMs, Task call, int heldBytes)
    {
        public long SessionId { get; } = sessionId;

        public string Function { get; } = function;

        public ulong BatchId { get; } = batchId;

        public long Started { get; } = started;

        public uint DeadlineMs { get; } = deadlineMs;

        public Task Call { get; } = call;

        public int HeldBytes { get; } = heldBytes;

        public bool Reported { get; set; }
    }

    private SessionRejectedException Reject(long sessionId, StatusCode status, string reason)
    {
        Log.SessionRejected(_logger, sessionId, status.ToString(), reason);
        return new SessionRejectedException(status, reason);
    }
}

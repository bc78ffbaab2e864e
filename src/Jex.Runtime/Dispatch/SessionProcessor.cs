using System.Security.Cryptography;
using System.Text;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;
using Microsoft.Extensions.Options;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// Serves sessions, whatever transport carries them. The gRPC service and the shared-memory
/// listener each read member messages and hand them here; this class owns the protocol: Init and
/// auth, batches and their deadlines, cancel, ping, drain, and the single writer of results.
/// </summary>
internal sealed class SessionProcessor
{
    public const uint ProtocolVersion = 1;

    private readonly FunctionCatalog _catalog;
    private readonly UserCodeOptions _options;
    private readonly RuntimeCounters _counters;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly byte[]? _token;
    private long _nextSessionId;
    private int _activeSessions;

    public SessionProcessor(
        FunctionCatalog catalog,
        IOptions<UserCodeOptions> options,
        RuntimeCounters counters,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime lifetime)
    {
        _catalog = catalog;
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
    }

    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    internal FunctionCatalog Catalog => _catalog;

    internal UserCodeOptions Options => _options;

    internal RuntimeCounters Counters => _counters;

    internal ILoggerFactory LoggerFactory => _loggerFactory;

    internal ILogger Logger => _logger;

    /// <summary>
    /// Runs one session to its end: the member's stream ends, it drains, the runtime stops, or the
    /// transport fails (<paramref name="cancellationToken"/>). Incoming frames belong to the
    /// session, which releases them. Throws
    /// <see cref="SessionRejectedException"/> when the session is refused before Ready.
    /// </summary>
    public async Task RunAsync(IAsyncEnumerable<MemberFrame> incoming, ISessionOutput output, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextSessionId);
        Interlocked.Increment(ref _activeSessions);
        try
        {
            var session = new Session(this, id, output, cancellationToken, _stopping);
            await session.RunAsync(incoming).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _activeSessions);
        }
    }

    /// <summary>Checks Init and resolves the function, or refuses the session with a status.</summary>
    internal FunctionDescriptor Accept(Init init, long sessionId)
    {
        if (_token is not null && !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(init.Token), _token))
        {
            throw Reject(sessionId, StatusCode.PermissionDenied,
                string.IsNullOrEmpty(init.Token) ? "Init carries no token" : "Init carries a wrong token");
        }

        if (init.ProtocolVersion != ProtocolVersion)
        {
            throw Reject(sessionId, StatusCode.FailedPrecondition,
                $"protocol version {init.ProtocolVersion} is not supported; this runtime speaks version {ProtocolVersion}");
        }

        if (!_catalog.TryGet(init.Function, out var function))
        {
            var available = _catalog.Names.Count == 0 ? "none" : string.Join(", ", _catalog.Names);
            throw Reject(sessionId, StatusCode.NotFound,
                string.IsNullOrEmpty(init.Function)
                    ? $"Init names no function; available: {available}"
                    : $"function '{init.Function}' is not loaded; available: {available}");
        }

        if (init.MaxBatchBytes > _options.MaxBatchBytes)
        {
            throw Reject(sessionId, StatusCode.InvalidArgument,
                $"max_batch_bytes {init.MaxBatchBytes} exceeds this runtime's limit of {_options.MaxBatchBytes} (UserCode:MaxBatchBytes)");
        }

        return function;
    }

    private SessionRejectedException Reject(long sessionId, StatusCode status, string reason)
    {
        Log.SessionRejected(_logger, sessionId, status.ToString(), reason);
        return new SessionRejectedException(status, reason);
    }
}

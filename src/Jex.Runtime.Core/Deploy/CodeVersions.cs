using System.Diagnostics;
using System.Text.RegularExpressions;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.UserCode;
using Log = Jex.Runtime.Diagnostics.Log;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Deploy;

/// <summary>
/// The runtime's user code over time: the stored versions, the one that is current, and the live
/// sessions that use it. Sessions bind through <see cref="SessionCode"/>; the deploy service stores,
/// activates, lists and removes versions here. Without deploy there is one version, the startup
/// code, with an empty id (<see cref="Fixed"/>).
/// </summary>
internal sealed partial class CodeVersions
{
    private readonly object _gate = new();
    private readonly SemaphoreSlim _activation = new(1, 1);
    private readonly List<CodeVersion> _versions = [];
    private readonly List<LoadedCode> _loaded = [];
    private readonly HashSet<SessionCode> _sessions = [];
    private readonly Func<string, FunctionCatalog>? _load;
    private readonly ILogger _logger;
    private LoadedCode? _current;
    private long _generation;
    private int _lastId;

    private CodeVersions(Func<string, FunctionCatalog>? load, ILogger logger, bool deployEnabled)
    {
        _load = load;
        _logger = logger;
        DeployEnabled = deployEnabled;
    }

    /// <summary>Deploy is off: the startup code is the only version, reported as "" in results.</summary>
    public static CodeVersions Fixed(FunctionCatalog catalog, ILogger? logger = null)
    {
        var versions = new CodeVersions(null, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, deployEnabled: false);
        versions.Start(new CodeVersion(string.Empty, "startup code", string.Empty, [], 0, 0, 0, removable: false), catalog);
        return versions;
    }

    /// <summary>
    /// Deploy is on: <paramref name="load"/> loads a version's folder (throwing <see cref="UserCodeLoadException"/>);
    /// the startup code, when there is one, is version "v0".
    /// </summary>
    public static CodeVersions Deployable(Func<string, FunctionCatalog> load, ILogger logger, FunctionCatalog? startup, string? startupPath)
    {
        var versions = new CodeVersions(load, logger, deployEnabled: true);
        if (startup is not null)
        {
            versions.Start(new CodeVersion("v0", "UserCode:Path", startupPath ?? string.Empty, [], 0, 0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), removable: false), startup);
        }

        return versions;
    }

    private void Start(CodeVersion version, FunctionCatalog catalog)
    {
        version.WasLoaded = true;
        _versions.Add(version);
        var code = new LoadedCode(version, catalog, ++_generation, OnUnload);
        _loaded.Add(code);
        _current = code;
    }

    public bool DeployEnabled { get; }

    /// <summary>The current code; null while an empty runtime waits for its first activation.</summary>
    public LoadedCode? Current => Volatile.Read(ref _current);

    /// <summary>The current code's function names, sorted; none before a first activation.</summary>
    public IReadOnlyList<string> FunctionNames => Current?.Catalog?.Names ?? [];

    /// <summary>The payload codecs of the current code (a session's format state starts from them).</summary>
    public PayloadCodecs? Codecs => Current?.Catalog?.Codecs;

    /// <summary>
    /// The current code with a batch counted on it. The count is taken before the second look, so
    /// code that is retired after that look still sees the batch and waits for it; code that was
    /// retired before it is left again (its unload is then this call's, if it was the last).
    /// </summary>
    public LoadedCode EnterCurrent()
    {
        while (true)
        {
            var code = Volatile.Read(ref _current)!;
            code.Enter();
            if (ReferenceEquals(Volatile.Read(ref _current), code))
            {
                return code;
            }

            code.Exit();
        }
    }

    /// <summary>
    /// Binds a new session to the current code's function, or refuses it: UNAVAILABLE before a first
    /// activation, NOT_FOUND for a function the current code lacks.
    /// </summary>
    public SessionCode Bind(long sessionId, string function, Format keyFormat, Format valueFormat)
    {
        lock (_gate)
        {
            if (_current is not { } code)
            {
                throw new SessionRejectedException(StatusCode.Unavailable, NoCodeYetMessage);
            }

            var catalog = code.Catalog!;
            if (!catalog.TryGet(function, out var descriptor))
            {
                var available = catalog.Names.Count == 0 ? "none" : string.Join(", ", catalog.Names);
                var where = code.VersionId.Length == 0 ? string.Empty : $" in code version {code.VersionId}";
                throw new SessionRejectedException(StatusCode.NotFound,
                    string.IsNullOrEmpty(function)
                        ? $"Init names no function; available{where}: {available}"
                        : $"function '{function}' is not loaded{where}; available: {available}");
            }

            var session = new SessionCode(this, sessionId, function, keyFormat, valueFormat, new CodeBinding(code, descriptor.Invoker));
            _sessions.Add(session);
            return session;
        }
    }

    internal const string NoCodeYetMessage =
        "this runtime started empty (UserCode:Deploy:Enabled without UserCode:Path) and no code is deployed yet: " +
        "upload and activate a version first (jex deploy), then open the session";

    internal void Unregister(SessionCode session)
    {
        lock (_gate)
        {
            _sessions.Remove(session);
        }
    }

    /// <summary>The next version id, "v1" upwards (the startup code is "v0").</summary>
    public string NextId() => "v" + Interlocked.Increment(ref _lastId).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A version the store has written.</summary>
    public void Add(CodeVersion version)
    {
        lock (_gate)
        {
            _versions.Add(version);
        }
    }

    /// <summary>
    /// Loads a stored version into new load contexts, checks it against every live session's
    /// function, and only then makes it current; the code it replaces is unloaded once its last
    /// batch ends. Throws <see cref="DeployException"/>: NOT_FOUND, or FAILED_PRECONDITION with the
    /// load error or the function at fault, the current code still serving.
    /// </summary>
    public async Task<ActivateResult> ActivateAsync(string id, CancellationToken cancellationToken)
    {
        await _activation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Activate(id);
        }
        finally
        {
            _activation.Release();
        }
    }

    private ActivateResult Activate(string id)
    {
        var version = Find(id);
        var started = Stopwatch.GetTimestamp();
        FunctionCatalog catalog;
        try
        {
            catalog = _load!(version.Directory);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            var reason = e is UserCodeLoadException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            Log.ActivationFailed(_logger, id, reason);
            throw new DeployException(StatusCode.FailedPrecondition, $"version {id} does not load, {Current?.VersionId ?? "nothing"} keeps serving: {reason}", e);
        }

        // Compiled now for the functions sessions use, so their first batch on the new code does not pay for it.
        SessionCode[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions];
        }

        var problem = Check(catalog, sessions);
        LoadedCode? previous;
        LoadedCode code;
        int moving;
        if (problem is null)
        {
            lock (_gate)
            {
                // Sessions that started while the first check ran are checked too, under the lock Bind takes.
                problem = Check(catalog, [.. _sessions.Except(sessions)]);
                if (problem is null)
                {
                    code = new LoadedCode(version, catalog, ++_generation, OnUnload);
                    version.WasLoaded = true;
                    _loaded.Add(code);
                    previous = Interlocked.Exchange(ref _current, code);
                    moving = _sessions.Count;
                }
                else
                {
                    code = null!;
                    previous = null;
                    moving = 0;
                }
            }
        }
        else
        {
            code = null!;
            previous = null;
            moving = 0;
        }

        if (problem is not null)
        {
            foreach (var context in catalog.Contexts)
            {
                context.Unload();
            }

            Log.ActivationFailed(_logger, id, problem);
            throw new DeployException(StatusCode.FailedPrecondition, $"version {id} cannot replace {Current?.VersionId ?? "nothing"}, which keeps serving: {problem}");
        }

        var loadUs = (ulong)(Stopwatch.GetElapsedTime(started).Ticks / 10);
        previous?.Retire();
        Log.Activated(_logger, id, previous?.VersionId ?? "none", (long)loadUs, moving, string.Join(", ", catalog.Names));
        var result = new ActivateResult
        {
            Version = id,
            PreviousVersion = previous?.VersionId ?? string.Empty,
            LoadUs = loadUs,
            Sessions = (uint)moving,
        };
        result.Functions.AddRange(catalog.Names);
        return result;
    }

    /// <summary>Null when every session's function is in the catalog with the kinds its Ready announced; else what is wrong.</summary>
    private static string? Check(FunctionCatalog catalog, IReadOnlyCollection<SessionCode> sessions)
    {
        foreach (var session in sessions)
        {
            if (!catalog.TryGet(session.FunctionName, out var descriptor))
            {
                return $"session {session.SessionId} uses function '{session.FunctionName}', which the new version lacks (it offers: {(catalog.Names.Count == 0 ? "none" : string.Join(", ", catalog.Names))})";
            }

            FunctionSignature now;
            try
            {
                now = descriptor.Invoker.SignatureFor(session.KeyFormat, session.ValueFormat);
            }
            catch (SessionRejectedException e)
            {
                return e.Message;
            }

            var was = session.Signature;
            if (Kind(now.Input) != Kind(was.Input) || Kind(now.Output) != Kind(was.Output) || now.Cardinality != was.Cardinality)
            {
                return $"function '{session.FunctionName}' changed shape for session {session.SessionId}: it was {was.Input} -> {was.Output} ({was.Cardinality}), " +
                    $"the new version has {now.Input} -> {now.Output} ({now.Cardinality}); keep the input, output and cardinality, or deploy it under another function name";
            }
        }

        return null;
    }

    /// <summary>A type description without JSON class names: a JSON class may change, its kind may not.</summary>
    private static string Kind(string description) => JsonClassName().Replace(description, "json");

    [GeneratedRegex(@"json:[^,<>\s]+")]
    private static partial Regex JsonClassName();

    public ListResult List()
    {
        var result = new ListResult();
        lock (_gate)
        {
            foreach (var version in _versions)
            {
                result.Versions.Add(Describe(version));
            }
        }

        return result;
    }

    private Jex.Protocol.V1.CodeVersion Describe(CodeVersion version)
    {
        var loads = _loaded.Where(l => ReferenceEquals(l.Version, version)).ToList();
        var state = ReferenceEquals(_current?.Version, version) ? Protocol.V1.CodeVersion.Types.State.Current
            : loads.Count > 0 ? Protocol.V1.CodeVersion.Types.State.Retiring
            : version.WasLoaded ? Protocol.V1.CodeVersion.Types.State.Unloaded
            : Protocol.V1.CodeVersion.Types.State.Stored;
        return new Jex.Protocol.V1.CodeVersion
        {
            Version = version.Id,
            Label = version.Label,
            Sha256 = Google.Protobuf.ByteString.CopyFrom(version.Sha256),
            Files = (uint)version.Files,
            Bytes = (ulong)version.Bytes,
            UploadedMs = version.UploadedMs,
            State = state,
            BatchesInFlight = (uint)loads.Sum(l => l.Batches),
        };
    }

    /// <summary>Forgets a version and returns its folder for the store to delete.</summary>
    public CodeVersion Remove(string id)
    {
        lock (_gate)
        {
            var version = Find(id);
            if (ReferenceEquals(_current?.Version, version))
            {
                throw new DeployException(StatusCode.FailedPrecondition, $"version {id} is current; activate another version before removing it");
            }

            if (_loaded.FirstOrDefault(l => ReferenceEquals(l.Version, version)) is { } inUse)
            {
                throw new DeployException(StatusCode.FailedPrecondition, $"version {id} still runs {inUse.Batches} batch(es) begun before it was replaced; remove it once they finish (List shows batches_in_flight)");
            }

            if (!version.Removable)
            {
                throw new DeployException(StatusCode.FailedPrecondition, $"version {id} is the code the runtime started with (UserCode:Path '{version.Directory}'); its files are not the runtime's to delete");
            }

            _versions.Remove(version);
            Log.Removed(_logger, id);
            return version;
        }
    }

    private CodeVersion Find(string id)
    {
        lock (_gate)
        {
            return _versions.FirstOrDefault(v => v.Id == id)
                ?? throw new DeployException(StatusCode.NotFound,
                    $"version '{id}' is not stored here; stored: {(_versions.Count == 0 ? "none" : string.Join(", ", _versions.Select(v => v.Id)))}");
        }
    }

    /// <summary>Retired code with no batch left: nothing of the runtime may keep pointing into it.</summary>
    private void OnUnload(LoadedCode code)
    {
        SessionCode[] sessions;
        lock (_gate)
        {
            _loaded.Remove(code);
            sessions = [.. _sessions];
        }

        foreach (var session in sessions)
        {
            session.Forget(code);
        }

        Log.Unloaded(_logger, code.VersionId, code.Generation);
    }
}

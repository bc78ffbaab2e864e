using Jex.Member.Diagnostics;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Protocol.V1;

namespace Jex.Member.Driver;

/// <summary>How one transform stage runs.</summary>
internal sealed record DriverOptions
{
    public required SessionSettings Session { get; init; }

    /// <summary>Fresh launch options (with a fresh token) for each runtime start.</summary>
    public required Func<RuntimeLaunchOptions> LaunchOptions { get; init; }

    /// <summary>Items per batch, at most. A batch also ends when the journal has nothing more right now.</summary>
    public int MaxBatchItems { get; init; } = 512;

    /// <summary>Batches in flight (parallel-operations); the driver never has more unresolved-and-unsunk batches.</summary>
    public int MaxInFlight { get; init; } = 4;

    public bool PreserveOrder { get; init; } = true;

    /// <summary>Per-batch deadline in ms for the runtime; 0 for none.</summary>
    public uint BatchDeadlineMs { get; init; }

    public RestartPolicy Restart { get; init; } = new();

    /// <summary>How long Init may wait for Ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>SIGTERM grace before SIGKILL when the job ends.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Compact schemas the input items need; null or empty for none. Sent in one Schemas message
    /// after Init on every session, restarts included, before the first batch (a new runtime knows
    /// nothing the old one was told).
    /// </summary>
    public Schemas? InputSchemas { get; init; }

    /// <summary>Compact schemas the runtime announced (for the sink's decoder).</summary>
    public Action<Schemas>? OnSchemas { get; init; }

    /// <summary>
    /// Runs on each started runtime before its session opens, restarts included; null for nothing.
    /// jex run --watch uses it to deploy the job's latest code into a container that has no code
    /// mounted. Its exceptions count as the start's: a <see cref="Sessions.JobFailedException"/>
    /// ends the job, an <see cref="IOException"/> is a lost runtime (restart).
    /// </summary>
    public Func<LiveRuntime, CancellationToken, Task>? PrepareRuntime { get; init; }

    /// <summary>At most this many item errors are logged one by one; all are counted.</summary>
    public int MaxLoggedItemErrors { get; init; } = 20;
}

/// <summary>Live counters of a running stage; read them from any thread.</summary>
internal sealed class DriverStats
{
    private long _in;
    private long _out;
    private long _errors;
    private long _restarts;
    private long _replayed;
    private long _batches;
    private long _ok;
    private long _filtered;

    // Indexed by ItemError.Code; a code this build does not know is counted under CODE_UNSPECIFIED.
    private readonly long[] _errorCodes = new long[32];

    private long _codeVersionChanges;
    private string _codeVersion = "";

    /// <summary>Items read from the journal.</summary>
    public long In => Interlocked.Read(ref _in);

    /// <summary>Outputs handed to the sink.</summary>
    public long Out => Interlocked.Read(ref _out);

    /// <summary>Items whose result was an error.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Batch sends that were replays after a lost runtime.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Batches resolved and sunk.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Items that succeeded with at least one output.</summary>
    public long Ok => Interlocked.Read(ref _ok);

    /// <summary>Items that succeeded with no output (a filter that dropped them).</summary>
    public long Filtered => Interlocked.Read(ref _filtered);

    /// <summary>Round trip of each batch, from its send to its result (replays measured from their own send).</summary>
    public BatchLatency Latency { get; } = new();

    /// <summary>Failed items per error code, the codes with none left out.</summary>
    public IReadOnlyList<(ItemError.Types.Code Code, long Count)> ErrorCodes()
    {
        var codes = new List<(ItemError.Types.Code, long)>();
        for (var i = 0; i < _errorCodes.Length; i++)
        {
            if (Interlocked.Read(ref _errorCodes[i]) is > 0 and var count)
            {
                codes.Add(((ItemError.Types.Code)i, count));
            }
        }

        return codes;
    }

    /// <summary>The pid of the current runtime (0 for passthru or none).</summary>
    public int RuntimePid { get; internal set; }

    /// <summary>
    /// The code version (BatchResult.code_version) of the last batch handed to the sink; empty
    /// while the runtime serves only the code it started with and nothing was deployed.
    /// </summary>
    public string CodeVersion => Volatile.Read(ref _codeVersion);

    /// <summary>Times the code version changed between two batches in sink order (live code switches seen).</summary>
    public long CodeVersionChanges => Interlocked.Read(ref _codeVersionChanges);

    /// <summary>Raised by the sink's task with the new version when a batch ran on another version than the one before it.</summary>
    public event Action<string>? CodeVersionChanged;

    internal void AddIn(long n) => Interlocked.Add(ref _in, n);

    internal void AddOut(long n) => Interlocked.Add(ref _out, n);

    internal void AddErrors(long n) => Interlocked.Add(ref _errors, n);

    internal void AddRestart() => Interlocked.Increment(ref _restarts);

    internal void AddReplayed(long n) => Interlocked.Add(ref _replayed, n);

    internal void AddBatch() => Interlocked.Increment(ref _batches);

    internal void AddOk(long n) => Interlocked.Add(ref _ok, n);

    internal void AddFiltered(long n) => Interlocked.Add(ref _filtered, n);

    internal void AddError(ItemError.Types.Code code) =>
        Interlocked.Increment(ref _errorCodes[(uint)code < (uint)_errorCodes.Length ? (int)code : 0]);

    /// <summary>Notes the version of the next batch in sink order; the first batch sets it without counting a change.</summary>
    internal void SeeCodeVersion(string version, bool first)
    {
        // Versions are few and the same string most of the time: the comparison stops at the
        // reference or at the length, so this costs nothing per batch when nothing changed.
        if (string.Equals(version, _codeVersion, StringComparison.Ordinal))
        {
            return;
        }

        Volatile.Write(ref _codeVersion, version);
        if (!first)
        {
            Interlocked.Increment(ref _codeVersionChanges);
            CodeVersionChanged?.Invoke(version);
        }
    }
}

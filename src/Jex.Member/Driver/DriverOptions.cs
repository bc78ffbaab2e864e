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
}

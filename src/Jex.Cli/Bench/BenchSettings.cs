namespace Jex.Cli.Bench;

/// <summary>What to run, from the command line.</summary>
internal sealed record BenchSettings
{
    public static readonly string[] AllPaths = ["direct", "shm", "grpc-tcp", "grpc-uds"];

    public static readonly string[] AllFormats = ["raw", CompactWorkload.FormatName];

    public required string Runtime { get; init; }

    public required string Samples { get; init; }

    public IReadOnlyList<string> Paths { get; init; } = AllPaths;

    /// <summary>
    /// The wait modes the shm path runs with, both sides (--shm-wait); null runs it once, adaptive,
    /// as the path <c>shm</c>. Given, each mode is a path of its own, <c>shm-adaptive</c>,
    /// <c>shm-spin</c>, <c>shm-block</c>, so one run compares them cell by cell.
    /// </summary>
    public IReadOnlyList<string>? ShmWaits { get; init; }

    /// <summary>The path name of the Jet Python peer (<see cref="JetPy"/>).</summary>
    public const string JetPyPath = "jetpy";

    /// <summary>
    /// The folder with Hazelcast's Python user-code server (--jetpy), or null. Given, the run ends
    /// with the path <see cref="JetPyPath"/>: that peer driven with identity over strings of each
    /// payload size, at the same batch sizes and batches in flight as the other paths.
    /// </summary>
    public string? JetPy { get; init; }

    /// <summary>
    /// The paths as run and reported: <see cref="Paths"/> with shm expanded per <see cref="ShmWaits"/>,
    /// then <see cref="JetPyPath"/> when <see cref="JetPy"/> is given.
    /// </summary>
    public IReadOnlyList<string> RunPaths =>
        [.. (ShmWaits is null ? Paths : Paths.SelectMany(p => p == "shm" ? ShmWaits.Select(w => "shm-" + w) : [p])),
         .. (JetPy is null ? Array.Empty<string>() : [JetPyPath])];

    public IReadOnlyList<int> Payloads { get; init; } = [64, 1024, 16 * 1024];

    public IReadOnlyList<int> Batches { get; init; } = [1, 16, 256];

    public IReadOnlyList<int> InFlight { get; init; } = [1, 4];

    public IReadOnlyList<string> Functions { get; init; } = ["identity", "burn1us"];

    public IReadOnlyList<string> Formats { get; init; } = AllFormats;

    public TimeSpan WarmUp { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest warm-up: it runs on past <see cref="WarmUp"/> while the runtime has used less
    /// than <see cref="WarmUpRuntimeCpu"/> since it started, or throughput still climbs by more
    /// than <see cref="WarmUpGain"/> slice on slice.
    /// </summary>
    public TimeSpan WarmUpLimit { get; init; } = TimeSpan.FromMilliseconds(4000);

    /// <summary>
    /// CPU time a runtime spends, start-up included, before its cells are measured. A runtime
    /// forked for one cell (every shm cell) is still compiling its hot methods to their final
    /// tier until it has run them for a while; on a loaded machine it gets a share of a core, so
    /// wall time alone says little about how far it got. A runtime that serves many cells (gRPC,
    /// direct) passes this after its first. The same mark applies to this process's CPU in runs
    /// of the path, for the member's side of it.
    /// </summary>
    public TimeSpan WarmUpRuntimeCpu { get; init; } = TimeSpan.FromMilliseconds(1500);

    public double WarmUpGain { get; init; } = 0.05;

    public TimeSpan Measure { get; init; } = TimeSpan.FromMilliseconds(600);

    public int Repeats { get; init; } = 5;

    /// <summary>The open-loop latency run, at <see cref="FixedRateLoad"/> of the cell's closed-loop throughput.</summary>
    public TimeSpan FixedRate { get; init; } = TimeSpan.FromMilliseconds(600);

    public double FixedRateLoad { get; init; } = 0.5;

    public int Starts { get; init; } = 10;

    public bool Quick { get; init; }

    /// <summary>Only fork-to-ready, no load.</summary>
    public bool StartupOnly { get; init; }

    /// <summary>
    /// The key-ordering cells on every path (64 B, batch 256): identity at ORDERING_KEY with 4 in
    /// flight, and async5ms (5 ms per item) at ORDERING_BATCH and at ORDERING_KEY with one batch in
    /// flight, 64 keys and concurrency 64. At batch order async5ms does 200 items/s, so a repeat
    /// lasts one batch, about 1.3 s, whatever <see cref="Measure"/> says; quick mode runs the
    /// async5ms pair on the last path only.
    /// </summary>
    public bool OrderingCells { get; init; } = true;

    public const string Async5Ms = "async5ms";

    /// <summary>The key-ordering cells of a path (<see cref="OrderingCells"/>).</summary>
    public IEnumerable<Cell> OrderingCellsFor(string path)
    {
        if (!OrderingCells)
        {
            yield break;
        }

        if (path == JetPyPath)
        {
            yield break;
        }

        yield return new Cell(path, 64, 256, 4, "identity", "raw", Cell.KeyOrder);
        if (Quick && path != RunPaths.Last(p => p != JetPyPath))
        {
            // Quick mode keeps the slow batch-order cell (about 7 s) to one path, the last.
            yield break;
        }

        yield return new Cell(path, 64, 256, 1, Async5Ms, "raw", Cell.BatchOrder);
        yield return new Cell(path, 64, 256, 1, Async5Ms, "raw", Cell.KeyOrder);
    }

    /// <summary>The cells to run, in path-major order so each runtime serves one block.</summary>
    public IEnumerable<Cell> Cells(string path)
    {
        foreach (var function in Functions)
        {
            foreach (var format in Formats)
            {
                foreach (var payload in Payloads)
                {
                    foreach (var batch in Batches)
                    {
                        foreach (var inFlight in InFlight)
                        {
                            // Quick mode: batch 1 both ways, big batches only with 4 in flight;
                            // Compact only at the biggest batch and most in flight (one cell a path).
                            if (Quick && batch > 1 && inFlight == 1)
                            {
                                continue;
                            }

                            if (Quick && format == CompactWorkload.FormatName && (batch != Batches.Max() || inFlight != InFlight.Max()))
                            {
                                continue;
                            }

                            yield return new Cell(path, payload, batch, inFlight, function, format);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The peer's cells: identity over raw strings at every payload, batch and in-flight count the
    /// Jex paths run (quick mode leaves out the same ones), and nothing else: the peer has no
    /// burn1us, no Compact and no key ordering.
    /// </summary>
    public IEnumerable<Cell> PeerCells() => Cells(JetPyPath)
        .Where(c => c.Format == "raw")
        .Select(c => c with { Function = "identity" })
        .Distinct();

    public static BenchSettings QuickFrom(BenchSettings s) => s with
    {
        Payloads = [64],
        Batches = [1, 256],
        Functions = ["identity"],
        Formats = AllFormats,
        WarmUp = TimeSpan.FromMilliseconds(300),
        WarmUpLimit = TimeSpan.FromMilliseconds(1200),
        WarmUpRuntimeCpu = TimeSpan.FromMilliseconds(600),
        Measure = TimeSpan.FromMilliseconds(400),
        Repeats = 3,
        FixedRate = TimeSpan.FromMilliseconds(400),
        Starts = 3,
        Quick = true,
    };
}

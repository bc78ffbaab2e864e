namespace Jex.Cli.Soak;

/// <summary>What <c>jex soak</c> runs, from the command line.</summary>
internal sealed record SoakSettings
{
    public static readonly string[] AllPaths = ["grpc-tcp", "grpc-uds", "shm"];

    /// <summary>The smallest payload that holds the stamp (batch id and item index).</summary>
    public const int MinPayload = 12;

    public required string Runtime { get; init; }

    public required string Samples { get; init; }

    public IReadOnlyList<string> Paths { get; init; } = AllPaths;

    /// <summary>How long each transport runs at saturation, after its warm-up; RSS is judged over this window.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Saturation before the window: the runtime's RSS climbs while JIT tiers, pools and the GC's
    /// budgets settle to the load, which is not what a soak looks for. It takes 5-10 s on an idle
    /// 2-core machine and 20-30 s under load 20, as the throughput ramps up. The warm-up lasts
    /// at least this, then ends once RSS is flat (see <see cref="SoakWarmup"/>), or at
    /// <see cref="WarmupMax"/>. Every item of the warm-up is checked like the rest.
    /// </summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The warm-up ends here even if RSS still climbs (a leak then shows in the window).</summary>
    public TimeSpan WarmupMax => Warmup + TimeSpan.FromSeconds(30);

    public int Payload { get; init; } = 64;

    public int Batch { get; init; } = 256;

    public int InFlight { get; init; } = 4;

    public string Function { get; init; } = "identity";

    /// <summary>The RSS the final one is compared with is the first sample at or after this, in the window (capped at a third of it).</summary>
    public double ReferenceSeconds { get; init; } = 10;

    /// <summary>How far the final RSS may be above the reference, in percent.</summary>
    public double TolerancePercent { get; init; } = 10;

    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>No result for this long with batches outstanding fails the run (they count as lost).</summary>
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromSeconds(30);

    public double EffectiveReferenceSeconds => SoakVerdict.ReferenceSeconds(Duration.TotalSeconds, ReferenceSeconds);
}

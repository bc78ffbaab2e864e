namespace Jex.Cli.Run;

/// <summary>The command-line options of <c>jex run</c> besides the job and its variables.</summary>
internal sealed record RunOptions
{
    public string? InputPath { get; init; }

    public long? Generate { get; init; }

    /// <summary>Entries per second for --generate; null for as fast as the job takes them.</summary>
    public double? Rate { get; init; }

    public string? OutputPath { get; init; }

    /// <summary>Demo lines (Add entry / Found) printed at most, each.</summary>
    public int Show { get; init; } = 50;

    /// <summary>Token for a passthru runtime (else UserCode__Token from the environment).</summary>
    public string? Token { get; init; }

    /// <summary>--errors: a JSON-lines file of failed items; null for none.</summary>
    public string? ErrorsPath { get; init; }

    /// <summary>--allow-errors: failed items do not make the exit code 1.</summary>
    public bool AllowErrors { get; init; }

    /// <summary>--record: a JSON-lines recording of every batch and result; null for none.</summary>
    public string? RecordPath { get; init; }

    /// <summary>-v: failed items' stacks go to stderr.</summary>
    public bool Verbose { get; init; }

    /// <summary>--otlp: where the member's spans go, and the forked runtime's spans and metrics; null for nowhere.</summary>
    public OtlpExport? Otlp { get; init; }

    /// <summary>--metrics: the final per-function figures as JSON; null for none.</summary>
    public string? MetricsPath { get; init; }

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// --watch: the user code as the job names it (a folder, a .dll or a .csproj), watched and
    /// deployed into the running job on each change; null without --watch.
    /// </summary>
    public string? WatchPath { get; init; }

    /// <summary>With --watch: how long the files must stay unchanged before a deploy.</summary>
    public TimeSpan WatchQuiet { get; init; } = TimeSpan.FromMilliseconds(400);
}

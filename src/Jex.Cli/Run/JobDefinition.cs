using Jex.Protocol.Contract;
using Jex.Protocol.V1;
namespace Jex.Cli.Run;

/// <summary>A parsed, substituted, validated job file.</summary>
internal sealed record JobDefinition
{
    public required string Name { get; init; }

    /// <summary>The job file, as given on the command line.</summary>
    public required string FilePath { get; init; }

    public required IReadOnlyList<JobResource> Resources { get; init; }

    public required SourceStage Source { get; init; }

    public required TransformStage Transform { get; init; }

    public required SinkStage Sink { get; init; }

    /// <summary>The value of {UID} for this run.</summary>
    public required string Uid { get; init; }
}

/// <summary>A resource: a file or directory the job ships (JEX uploads them to the member).</summary>
internal sealed record JobResource(string Id, string Type, string Path, string? Platform);

internal sealed record SourceStage(string MapName, string InitialPosition, int Line);

internal sealed record SinkStage(string MapName, int Line);

internal enum ServiceKind
{
    Process,
    Container,
    Passthru,
}

/// <summary>runtime.service.</summary>
/// <param name="Kind">process, container or passthru.</param>
/// <param name="Executable">Process mode: path/name resolved to the runtime executable; null for the jex-runtime shipped with jex (see <see cref="RuntimeLocator"/>).</param>
/// <param name="Arguments">Process and container mode: extra runtime arguments.</param>
/// <param name="Image">Container mode: the image.</param>
/// <param name="Address">Passthru: optional host (default 127.0.0.1).</param>
internal sealed record ServiceSpec(ServiceKind Kind, string? Executable, IReadOnlyList<string> Arguments, string? Image, string? Address)
{
    /// <summary>Container mode: <c>memory</c>, the container's hard memory limit (docker <c>--memory</c>); null for the default.</summary>
    public string? Memory { get; init; }

    /// <summary>Container mode: <c>pids-limit</c>, processes and threads the runtime may have; null for the default.</summary>
    public int? PidsLimit { get; init; }

    /// <summary>Process mode with no path given: the runtime is the one that ships with jex.</summary>
    public bool IsBundled => Kind == ServiceKind.Process && Executable is null;

    public string Name => Kind switch
    {
        ServiceKind.Process => "process",
        ServiceKind.Container => "container",
        _ => "passthru",
    };
}

/// <summary>runtime.transport: gRPC (TCP port, or a Unix socket) or shared memory.</summary>
/// <param name="Kind">gRPC or shared memory.</param>
/// <param name="Port">gRPC's TCP port; 0 for any.</param>
/// <param name="Socket">gRPC's Unix socket, if given.</param>
/// <param name="Wait">shared-memory's <c>wait</c>: how both sides' readers wait; null for each side's default.</param>
internal sealed record TransportSpec(TransportKind Kind, int Port, string? Socket, Jex.Transport.SharedMemory.WaitMode? Wait = null);

internal sealed record TransformStage
{
    public required string Name { get; init; }

    public required string Function { get; init; }

    public required ServiceSpec Service { get; init; }

    public required TransportSpec Transport { get; init; }

    /// <summary>UserCode:Path for process mode (runtime.user-code, a Jex extension): a .dll, a folder, or a .csproj that jex run builds first.</summary>
    public string? UserCodePath { get; init; }

    public int ParallelProcessors { get; init; } = 1;

    public int ParallelOperations { get; init; } = 1;

    public bool PreserveOrder { get; init; } = true;

    /// <summary>Value format: "json" (default), "text" or "compact".</summary>
    public string Format { get; init; } = "json";

    /// <summary>format: compact's schema file and input type; null for the other formats.</summary>
    public CompactSpec? Compact { get; init; }

    public int BatchMaxItems { get; init; } = 512;

    public int BatchMaxBytes { get; init; } = 1024 * 1024;

    public uint DeadlineMs { get; init; }

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>ordering: batch (a batch's items one after another, the default) or key (concurrent, in order per key).</summary>
    public Ordering Ordering { get; init; } = Ordering.Batch;

    /// <summary>max-concurrency with ordering: key; 0 when absent (the runtime's UserCode:MaxConcurrency).</summary>
    public int MaxConcurrency { get; init; }

    public int Line { get; init; }
}

/// <summary>A job file error: names the file, the line and the key at fault.</summary>
internal sealed class JobFileException : Exception
{
    public JobFileException(string file, long line, string key, string message)
        : base($"{file}:{line}: {key}: {message}")
    {
        Line = line;
        Key = key;
    }

    public JobFileException(string file, string message) : base($"{file}: {message}")
    {
        Key = "";
    }

    public long Line { get; }

    public string Key { get; }
}

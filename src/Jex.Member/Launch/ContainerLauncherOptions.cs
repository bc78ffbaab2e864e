namespace Jex.Member.Launch;

/// <summary>How <see cref="ContainerLauncher"/> runs the runtime image.</summary>
internal sealed record ContainerLauncherOptions
{
    /// <summary>The port the image's runtime listens on inside the container (docker/Dockerfile: 5252).</summary>
    public const int DefaultContainerPort = 5252;

    /// <summary>Where the job's user code is mounted, read-only, inside the container.</summary>
    public const string DefaultUserCodeMountPoint = "/usercode";

    /// <summary>The runtime image, e.g. <c>localhost/jex-runtime:latest</c> (built by tests/containers/run.sh).</summary>
    public required string Image { get; init; }

    /// <summary>
    /// The container CLI, a name on PATH or a path. Null: the <c>JEX_CONTAINER_CLI</c> environment
    /// variable, else <c>docker</c> when it reaches an engine, else <c>podman</c>
    /// (see <see cref="ContainerCli.ResolveAsync"/>).
    /// </summary>
    public string? Cli { get; init; }

    /// <summary>The runtime's port inside the container; published to <see cref="HostAddress"/>.</summary>
    public int ContainerPort { get; init; } = DefaultContainerPort;

    /// <summary>The host interface the port is published on. Loopback: the runtime is for this member only.</summary>
    public string HostAddress { get; init; } = "127.0.0.1";

    /// <summary>Mount point of the user code inside the container.</summary>
    public string UserCodeMountPoint { get; init; } = DefaultUserCodeMountPoint;

    /// <summary>More <c>docker run</c> options, placed before the image (e.g. <c>--memory=512m</c>, <c>--cpus=1</c>).</summary>
    public IReadOnlyList<string> RunOptions { get; init; } = [];

    /// <summary>
    /// How long the ready line may take. Longer than process mode's: the engine creates the
    /// container's namespaces and overlay before .NET starts.
    /// </summary>
    public TimeSpan DefaultReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one CLI housekeeping call (<c>port</c>, <c>stop</c>, <c>kill</c>) may take.</summary>
    public TimeSpan CliTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

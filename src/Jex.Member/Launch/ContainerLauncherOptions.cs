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

    /// <summary>Where the token file is mounted, read-only, inside the container (UserCode:TokenFile).</summary>
    public const string TokenMountPath = "/run/jex/token";

    /// <summary>The image's runtime user (docker/Dockerfile: uid and gid 10001); a root member gives it the token file.</summary>
    public int RuntimeUid { get; init; } = 10001;

    /// <inheritdoc cref="RuntimeUid"/>
    public int RuntimeGid { get; init; } = 10001;

    /// <summary><c>--memory</c> (and <c>--memory-swap</c>, so no swap beyond it): the runtime's hard memory limit, e.g. <c>512m</c>.</summary>
    public string Memory { get; init; } = "1g";

    /// <summary><c>--pids-limit</c>: processes and threads the runtime may have.</summary>
    public int PidsLimit { get; init; } = 512;

    /// <summary>Size of the <c>/tmp</c> tmpfs, the only writable place (the root file system is read-only).</summary>
    public string TmpSize { get; init; } = "64m";

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

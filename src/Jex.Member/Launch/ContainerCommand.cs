using System.Globalization;

namespace Jex.Member.Launch;

/// <summary>
/// The pure parts of container mode: the <c>docker run</c> command line, where the user code is
/// mounted, and how the runtime's in-container address maps to one the member can reach. No I/O
/// beyond looking at the user-code path, so it is unit-tested without an engine.
/// </summary>
internal static class ContainerCommand
{
    /// <summary>Label on every container Jex starts: <c>docker ps --filter label=jex.runtime</c> lists them.</summary>
    public const string RuntimeLabel = "jex.runtime";

    /// <summary>Label holding the starting member's pid, to find containers a killed member left behind.</summary>
    public const string OwnerLabel = "jex.owner-pid";

    /// <summary>The token's environment variable; passed by name only, so its value never shows in <c>ps</c>.</summary>
    public const string TokenVariable = "UserCode__Token";

    /// <summary>Refuses what a container cannot do, naming the setting at fault.</summary>
    public static void Validate(RuntimeLaunchOptions launch)
    {
        if (!string.Equals(launch.Transport, "grpc", StringComparison.OrdinalIgnoreCase))
        {
            throw new RuntimeStartException(
                $"container mode supports transport 'grpc' only, not '{launch.Transport}': shared memory needs the member and the " +
                "runtime to share /dev/shm and a user, which a container does not (use service 'process' for shared memory)");
        }

        if (!string.IsNullOrEmpty(launch.GrpcSocket))
        {
            throw new RuntimeStartException(
                $"container mode reaches the runtime through a published TCP port; a Unix socket ({launch.GrpcSocket}) is not supported");
        }

        if (launch.GrpcPort is < 0 or > 65535)
        {
            throw new RuntimeStartException($"grpc port {launch.GrpcPort} is out of range (0-65535)");
        }
    }

    /// <summary>
    /// The bind mount for the user code: a directory is mounted as it is; a .dll file is reached
    /// through its directory, so the assemblies it depends on (its deps.json) come along.
    /// Null when the job names no user code (the image's own samples are used).
    /// </summary>
    public static UserCodeMount? MapUserCode(string? userCodePath, string mountPoint)
    {
        if (string.IsNullOrEmpty(userCodePath))
        {
            return null;
        }

        var full = Path.GetFullPath(userCodePath);
        string hostDirectory;
        string containerPath;
        if (Directory.Exists(full))
        {
            hostDirectory = Path.TrimEndingDirectorySeparator(full);
            containerPath = mountPoint;
        }
        else if (File.Exists(full))
        {
            hostDirectory = Path.GetDirectoryName(full)!;
            containerPath = mountPoint.TrimEnd('/') + "/" + Path.GetFileName(full);
        }
        else
        {
            throw new RuntimeStartException($"user code not found: {userCodePath} (run ./demo.sh build)");
        }

        // -v splits on ':', so such a path would mount something else.
        if (hostDirectory.Contains(':', StringComparison.Ordinal))
        {
            throw new RuntimeStartException($"user code directory {hostDirectory} contains ':', which a container bind mount cannot express");
        }

        return new UserCodeMount(hostDirectory, containerPath);
    }

    /// <summary>
    /// <c>run ...</c>: attached (its stdout is the runtime's, its exit code the runtime's), removed
    /// when it exits, the token taken from the CLI's environment, the port published on loopback
    /// (host port 0: the engine picks a free one, which avoids a probe-then-bind race), the user
    /// code read-only. The job's own arguments come last so they win.
    /// </summary>
    public static IReadOnlyList<string> BuildRunArguments(
        ContainerLauncherOptions options, RuntimeLaunchOptions launch, string containerName, int ownerPid, UserCodeMount? userCode)
    {
        var hostPort = launch.GrpcPort == 0 ? "" : launch.GrpcPort.ToString(CultureInfo.InvariantCulture);
        var containerPort = options.ContainerPort.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "run",
            "--rm",
            "--name", containerName,
            "--label", RuntimeLabel + "=1",
            "--label", OwnerLabel + "=" + ownerPid.ToString(CultureInfo.InvariantCulture),
            "--env", TokenVariable,
            "--publish", $"{options.HostAddress}:{hostPort}:{containerPort}/tcp",
        };
        if (userCode is not null)
        {
            args.Add("--volume");
            args.Add($"{userCode.HostDirectory}:{options.UserCodeMountPoint}:ro");
        }

        args.AddRange(options.RunOptions);
        args.Add(options.Image);

        // Runtime arguments. The address repeats the image's entrypoint on purpose: an image built
        // elsewhere may not set it, and a runtime on loopback inside a container is unreachable.
        args.Add("--UserCode:Transport=grpc");
        args.Add("--UserCode:Grpc:Address=0.0.0.0");
        args.Add("--UserCode:Grpc:Port=" + containerPort);
        if (userCode is not null)
        {
            args.Add("--UserCode:Path=" + userCode.ContainerPath);
        }

        if (launch.ExtraArguments is { } extra)
        {
            args.AddRange(extra);
        }

        return args;
    }

    /// <summary>
    /// The host port from <c>docker port NAME PORT/tcp</c>, whose output is one
    /// <c>HOST:PORT</c> line per binding (podman and docker agree; IPv6 hosts are bracketed).
    /// </summary>
    public static int ParsePublishedPort(string portOutput, string hostAddress)
    {
        int? any = null;
        foreach (var raw in portOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = raw.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(raw.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is 0 or > 65535)
            {
                continue;
            }

            if (raw[..colon].Trim('[', ']') == hostAddress)
            {
                return port;
            }

            any ??= port;
        }

        return any ?? throw new RuntimeStartException($"cannot read the published port from the container CLI's output: '{portOutput.Trim()}'");
    }

    /// <summary>
    /// The member-side address for the runtime's ready address: the ready line names the
    /// container's own endpoint (e.g. <c>http://0.0.0.0:5252</c>), which only exists inside the
    /// container; the member reaches it through the published port.
    /// </summary>
    public static string TranslateAddress(string readyAddress, int containerPort, string hostAddress, int hostPort)
    {
        if (!Uri.TryCreate(readyAddress, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new RuntimeStartException($"the containerized runtime announced '{readyAddress}', not an http(s) TCP address");
        }

        if (uri.Port != containerPort)
        {
            throw new RuntimeStartException(
                $"the containerized runtime listens on port {uri.Port}, but port {containerPort} is the one published " +
                "(do the job's runtime args set --UserCode:Grpc:Port?)");
        }

        var host = hostAddress.Contains(':', StringComparison.Ordinal) ? $"[{hostAddress}]" : hostAddress;
        return $"{uri.Scheme}://{host}:{hostPort.ToString(CultureInfo.InvariantCulture)}";
    }
}

/// <summary>A read-only bind mount of user code.</summary>
/// <param name="HostDirectory">The directory on the host.</param>
/// <param name="ContainerPath">The UserCode:Path the runtime gets (the mount point, or a .dll in it).</param>
internal sealed record UserCodeMount(string HostDirectory, string ContainerPath);

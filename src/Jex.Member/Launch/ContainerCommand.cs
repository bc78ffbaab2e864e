using System.Globalization;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

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


    /// <summary>Refuses what a container cannot do, naming the setting at fault.</summary>
    public static void Validate(RuntimeLaunchOptions launch)
    {
        if (launch.Transport != TransportKind.Grpc)
        {
            throw new RuntimeStartException(
                $"container mode supports transport 'grpc' only, not '{launch.Transport.ToWire()}': shared memory needs the member and the " +
                "runtime to share /dev/shm and a user, which a container does not (use service 'process' for shared memory)") { IsFinal = true };
        }

        if (!string.IsNullOrEmpty(launch.GrpcSocket))
        {
            throw new RuntimeStartException(
                $"container mode reaches the runtime through a published TCP port; a Unix socket ({launch.GrpcSocket}) is not supported") { IsFinal = true };
        }

        if (launch.GrpcPort is < 0 or > 65535)
        {
            throw new RuntimeStartException($"grpc port {launch.GrpcPort} is out of range (0-65535)") { IsFinal = true };
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
            throw new RuntimeStartException($"user code not found: {userCodePath} (run ./demo.sh build, or fix the job's user-code path)") { IsFinal = true };
        }

        // -v splits on ':', so such a path would mount something else.
        if (hostDirectory.Contains(':', StringComparison.Ordinal))
        {
            throw new RuntimeStartException($"user code directory {hostDirectory} contains ':', which a container bind mount cannot express") { IsFinal = true };
        }

        return new UserCodeMount(hostDirectory, containerPath);
    }

    /// <summary>
    /// <c>run ...</c>: attached (its stdout is the runtime's, its exit code the runtime's), removed
    /// when it exits, the port published on loopback (host port 0: the engine picks a free one,
    /// which avoids a probe-then-bind race), the user code read-only. Locked down: read-only root
    /// file system with a tmpfs <c>/tmp</c>, no capabilities, no privilege gain, a memory and a
    /// process limit. The token is a read-only file mount (<c>tokenFile</c>), never an
    /// environment variable, which <c>docker inspect</c> would show. The job's own arguments come
    /// last so they win. A member that is not root cannot give the token file to the image's user,
    /// so it passes <c>runAs</c> (its own non-root uid:gid) for <c>--user</c>, and under podman
    /// <c>keepUserNamespace</c> (<c>--userns=keep-id</c>) so that uid stays itself inside.
    /// </summary>
    public static IReadOnlyList<string> BuildRunArguments(
        ContainerLauncherOptions options, RuntimeLaunchOptions launch, string containerName, int ownerPid, UserCodeMount? userCode,
        string? tokenFile = null, string? runAs = null, bool keepUserNamespace = false)
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
            "--read-only",
            "--tmpfs", $"/tmp:rw,noexec,nosuid,nodev,size={options.TmpSize}",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            "--pids-limit", options.PidsLimit.ToString(CultureInfo.InvariantCulture),
            "--memory", options.Memory,
            "--memory-swap", options.Memory,
            "--publish", $"{options.HostAddress}:{hostPort}:{containerPort}/tcp",
        };
        if (runAs is not null)
        {
            // Rootless podman maps the member to root inside unless told to keep its uid.
            if (keepUserNamespace)
            {
                args.Add("--userns=keep-id");
            }

            args.Add("--user");
            args.Add(runAs);
        }

        if (userCode is not null)
        {
            args.Add("--volume");
            args.Add($"{userCode.HostDirectory}:{options.UserCodeMountPoint}:ro");
        }

        if (tokenFile is not null)
        {
            args.Add("--volume");
            args.Add($"{tokenFile}:{ContainerLauncherOptions.TokenMountPath}:ro");
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

        if (tokenFile is not null)
        {
            args.Add("--UserCode:TokenFile=" + ContainerLauncherOptions.TokenMountPath);
        }

        // Deployed versions live in the container's own tmpfs unless the job's args say otherwise;
        // a CodeDir on the host would not exist inside.
        ProcessLauncher.AddDeployArguments(args, launch.Deploy is null ? null : new DeployLaunchOptions());
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
                "(do the job's runtime args set --UserCode:Grpc:Port?)") { IsFinal = true };
        }

        var host = hostAddress.Contains(':', StringComparison.Ordinal) ? $"[{hostAddress}]" : hostAddress;
        return $"{uri.Scheme}://{host}:{hostPort.ToString(CultureInfo.InvariantCulture)}";
    }
}

/// <summary>A read-only bind mount of user code.</summary>
/// <param name="HostDirectory">The directory on the host.</param>
/// <param name="ContainerPath">The UserCode:Path the runtime gets (the mount point, or a .dll in it).</param>
internal sealed record UserCodeMount(string HostDirectory, string ContainerPath);

/// <summary>
/// The token as a file for one container: mode 0400 in a private (0700) directory of its own,
/// owned by whoever will read it. Deleted, directory and all, on dispose.
/// </summary>
internal sealed class ContainerTokenFile : IDisposable
{
    private ContainerTokenFile(string directory, string path, string? runAs)
    {
        Directory = directory;
        Path = path;
        RunAs = runAs;
    }

    public string Directory { get; }

    /// <summary>The file to mount at <see cref="ContainerLauncherOptions.TokenMountPath"/>.</summary>
    public string Path { get; }

    /// <summary><c>--user</c> the container needs to read the file, or null to keep the image's user.</summary>
    public string? RunAs { get; }

    /// <summary>
    /// Writes <paramref name="token"/>. A root member gives the file to the image's user
    /// (<paramref name="uid"/>:<paramref name="gid"/>); any other member keeps it and runs the
    /// container as itself, since it cannot give files away.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static ContainerTokenFile Create(string token, int uid, int gid)
    {
        // CreateTempSubdirectory makes it 0700 on Unix: nobody else can even reach the file.
        var directory = System.IO.Directory.CreateTempSubdirectory("jex-token-").FullName;
        try
        {
            var path = System.IO.Path.Combine(directory, "token");
            using (var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(token));
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead);
            string? runAs = null;
            var me = LibC.GetEffectiveUserId();
            if (me == 0)
            {
                ChangeOwner(path, (uint)uid, (uint)gid);
            }
            else
            {
                runAs = me.ToString(CultureInfo.InvariantCulture) + ":" + LibC.GetEffectiveGroupId().ToString(CultureInfo.InvariantCulture);
            }

            return new ContainerTokenFile(directory, path, runAs);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Already gone, or the engine still holds the mount for a moment: the directory is
            // private either way.
        }
    }

    private static void ChangeOwner(string path, uint owner, uint group)
    {
        if (LibC.Chown(path, owner, group) != 0)
        {
            throw new IOException($"chown {owner}:{group} {path} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }
}

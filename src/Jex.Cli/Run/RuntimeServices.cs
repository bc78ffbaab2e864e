using System.Globalization;
using System.Security.Cryptography;
using Jex.Member.Launch;
using Jex.Member.Transports;
using Jex.Member.Transports.Grpc;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging;

namespace Jex.Cli.Run;

/// <summary>Maps a job's runtime.service and runtime.transport to the member library's launchers and connectors.</summary>
internal static class RuntimeServices
{
    public static IRuntimeLauncher CreateLauncher(TransformStage transform, ILogger logger) => transform.Service.Kind switch
    {
        ServiceKind.Process => new ProcessLauncher(
            transform.Service.Executable ?? throw new InvalidOperationException("the bundled runtime is resolved by Preflight.Check before launch"), logger),
        ServiceKind.Passthru => new PassthruLauncher(PassthruAddress(transform), transform.Transport.Kind),
        ServiceKind.Container => new ContainerLauncher(ContainerOptions(transform.Service), logger),
        _ => throw new NotSupportedException($"runtime.service '{transform.Service.Name}' is not supported"),
    };

    public static ContainerLauncherOptions ContainerOptions(ServiceSpec service)
    {
        var options = new ContainerLauncherOptions { Image = service.Image! };
        return options with
        {
            Memory = service.Memory ?? options.Memory,
            PidsLimit = service.PidsLimit ?? options.PidsLimit,
        };
    }

    public static ISessionConnector CreateConnector(TransportSpec transport) => transport.Kind switch
    {
        TransportKind.Grpc => new GrpcSessionConnector(),
        TransportKind.SharedMemory => new SharedMemorySessionConnector(transport.Wait ?? Jex.Transport.SharedMemory.WaitMode.Adaptive),
        _ => throw new NotSupportedException($"runtime.transport '{transport.Kind.ToWire()}' is not available in this build of jex yet"),
    };

    /// <summary>
    /// The runtime's switches that follow from the job's transport: shared memory's <c>wait</c> for the
    /// runtime's side too. A passthru runtime was started by hand and keeps its own setting.
    /// </summary>
    public static IReadOnlyList<string> TransportArguments(TransformStage transform) =>
        transform.Transport.Wait is { } wait && transform.Service.Kind != ServiceKind.Passthru
            ? ["--UserCode:SharedMemory:Wait=" + Jex.Transport.SharedMemory.WaitModes.ToName(wait)]
            : [];

    public static string PassthruAddress(TransformStage transform)
    {
        var transport = transform.Transport;
        if (transport.Kind != TransportKind.Grpc)
        {
            return transform.Service.Address ?? "";
        }

        return transport.Socket is { } socket
            ? "unix:" + socket
            : $"http://{transform.Service.Address ?? "127.0.0.1"}:{transport.Port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// Launch options for one start: a fresh token (or the passthru one) and a fresh shared-memory
    /// uid; with <paramref name="liveCode"/> (--watch), jex.v1.Deploy on and the latest code deployed.
    /// </summary>
    /// <param name="job">The job.</param>
    /// <param name="passthruToken">The token of a runtime started by hand.</param>
    /// <param name="liveCode">--watch's live code; null without it.</param>
    /// <param name="moreArguments">Switches for the runtime besides the job's runtime args (jex run's --otlp); null for none.</param>
    public static Func<RuntimeLaunchOptions> LaunchOptionsFactory(JobDefinition job, string? passthruToken, LiveCode? liveCode = null, IReadOnlyList<string>? moreArguments = null)
    {
        var starts = 0;
        var transform = job.Transform;
        return () =>
        {
            var n = Interlocked.Increment(ref starts);
            var token = transform.Service.Kind == ServiceKind.Passthru
                ? passthruToken ?? ""
                : Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            return new RuntimeLaunchOptions(
                Token: token,
                Transport: transform.Transport.Kind,
                // --watch with a container: no code is mounted; LiveCode deploys it once the runtime is up.
                UserCodePath: liveCode is null ? transform.UserCodePath ?? ""
                    : transform.Service.Kind == ServiceKind.Container ? "" : liveCode.StartPath,
                Uid: transform.Transport.Kind == TransportKind.SharedMemory ? $"{job.Uid}-{n.ToString(CultureInfo.InvariantCulture)}" : null,
                GrpcPort: transform.Transport.Port,
                GrpcSocket: transform.Transport.Socket,
                ExtraArguments: [.. TransportArguments(transform), .. transform.Service.Arguments, .. moreArguments ?? []],
                ReadyTimeout: transform.ReadyTimeout,
                Deploy: liveCode is null ? null : new DeployLaunchOptions());
        };
    }
}

using Jex.FunctionalTests.SharedMemory;
using Jex.Member.Transports;
using Jex.Member.Transports.SharedMemory;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>The ways a member reaches a runtime. Scenario tests run once per transport.</summary>
public enum TransportKind
{
    GrpcTcp,
    GrpcUnixSocket,
    SharedMemory,
}

internal static class Transports
{
    public static TheoryData<TransportKind> All => [.. Enum.GetValues<TransportKind>()];

    /// <summary>Starts a runtime serving <paramref name="kind"/>; files go in <paramref name="scratch"/>.</summary>
    public static Task<RuntimeProcess> StartRuntimeAsync(TransportKind kind, string scratch, params string[] extra) => kind switch
    {
        TransportKind.GrpcTcp => RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0", .. extra]),
        TransportKind.GrpcUnixSocket => RuntimeProcess.StartAsync([$"--UserCode:Grpc:Socket={Path.Combine(scratch, "jex.sock")}", .. extra]),
        // A unique uid per runtime; the suite checks at the end that none of its files is left (ShmLeftovers).
        TransportKind.SharedMemory => ShmLeftovers.RemoveFilesWhenDead(
            RuntimeProcess.StartAsync(["--UserCode:Transport=shared-memory", $"--UserCode:Uid={ShmLeftovers.NewUid()}", .. extra])),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static ISessionChannel Open(TransportKind kind, RuntimeProcess runtime) => kind switch
    {
        TransportKind.GrpcTcp or TransportKind.GrpcUnixSocket => GrpcTestChannel.Open(runtime.Address),
        TransportKind.SharedMemory => SharedMemorySessionChannel.Open(runtime.Address),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The file the transport leaves while running (socket, ring), or null.</summary>
    public static string? EndpointFile(TransportKind kind, RuntimeProcess runtime) => kind switch
    {
        TransportKind.GrpcUnixSocket => runtime.Address["unix:".Length..],
        TransportKind.SharedMemory => runtime.Address,
        _ => null,
    };
}

using Jex.Cli.Run;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

namespace Jex.Cli.Tests.Run;

public sealed class RuntimeServicesTests
{
    private static JobDefinition Job(ServiceSpec service, TransportSpec transport) => new()
    {
        Name = "j",
        FilePath = "/jobs/j.yml",
        Resources = [],
        Source = new SourceStage("m", "START_FROM_OLDEST", 1),
        Sink = new SinkStage("r", 1),
        Uid = "abc",
        Transform = new TransformStage
        {
            Name = "t",
            Function = "f",
            Service = service,
            Transport = transport,
            UserCodePath = "/code",
        },
    };

    [Fact]
    public void LaunchOptionsFactory_GivesEveryProcessStartAFreshTokenAndSharedMemoryUid()
    {
        var factory = RuntimeServices.LaunchOptionsFactory(
            Job(new ServiceSpec(ServiceKind.Process, "/rt/jex-runtime", ["--x"], null, null), new TransportSpec(TransportKind.SharedMemory, 0, null)), passthruToken: null);

        var first = factory();
        var second = factory();

        Assert.Equal(64, first.Token.Length);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(("abc-1", "abc-2"), (first.Uid, second.Uid));
        Assert.Equal((TransportKind.SharedMemory, "/code"), (first.Transport, first.UserCodePath));
        Assert.Equal(["--x"], first.ExtraArguments!);
    }

    [Fact]
    public void SharedMemoryWait_ReachesTheRuntimeAsItsSwitch_AndTheMemberAsItsConnector()
    {
        var transport = new TransportSpec(TransportKind.SharedMemory, 0, null, WaitMode.Block);
        var factory = RuntimeServices.LaunchOptionsFactory(
            Job(new ServiceSpec(ServiceKind.Process, "/rt/jex-runtime", ["--x"], null, null), transport), passthruToken: null, moreArguments: ["--y"]);

        Assert.Equal(["--UserCode:SharedMemory:Wait=block", "--x", "--y"], factory().ExtraArguments!);
        var connector = Assert.IsType<SharedMemorySessionConnector>(RuntimeServices.CreateConnector(transport));
        Assert.Equal(WaitMode.Block, connector.Wait);
    }

    [Fact]
    public void SharedMemoryWait_ForPassthru_SetsOnlyTheMembersSide()
    {
        var transport = new TransportSpec(TransportKind.SharedMemory, 0, null, WaitMode.Spin);
        var factory = RuntimeServices.LaunchOptionsFactory(
            Job(new ServiceSpec(ServiceKind.Passthru, null, [], null, null), transport), passthruToken: "t");

        Assert.Empty(factory().ExtraArguments!);
        Assert.Equal(WaitMode.Spin, Assert.IsType<SharedMemorySessionConnector>(RuntimeServices.CreateConnector(transport)).Wait);
    }

    [Fact]
    public void SharedMemoryWithoutWait_AddsNoSwitch_AndTheConnectorAdapts()
    {
        var transport = new TransportSpec(TransportKind.SharedMemory, 0, null);
        var factory = RuntimeServices.LaunchOptionsFactory(
            Job(new ServiceSpec(ServiceKind.Process, "/rt/jex-runtime", [], null, null), transport), passthruToken: null);

        Assert.Empty(factory().ExtraArguments!);
        Assert.Equal(WaitMode.Adaptive, Assert.IsType<SharedMemorySessionConnector>(RuntimeServices.CreateConnector(transport)).Wait);
    }

    [Fact]
    public void LaunchOptionsFactory_ForPassthru_UsesTheGivenToken()
    {
        var factory = RuntimeServices.LaunchOptionsFactory(
            Job(new ServiceSpec(ServiceKind.Passthru, null, [], null, null), new TransportSpec(TransportKind.Grpc, 5252, null)), passthruToken: "hand-started");

        Assert.Equal("hand-started", factory().Token);
        Assert.Null(factory().Uid);
    }

    [Theory]
    [InlineData(5252, null, null, "http://127.0.0.1:5252")]
    [InlineData(5252, null, "10.0.0.7", "http://10.0.0.7:5252")]
    [InlineData(0, "/run/jex.sock", null, "unix:/run/jex.sock")]
    public void PassthruAddress_FollowsTheTransport(int port, string? socket, string? host, string expected)
    {
        var job = Job(new ServiceSpec(ServiceKind.Passthru, null, [], null, host), new TransportSpec(TransportKind.Grpc, port, socket));

        Assert.Equal(expected, RuntimeServices.PassthruAddress(job.Transform));
    }
}

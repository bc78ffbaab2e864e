using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.FunctionalTests.SharedMemory;
using Jex.Member.Transports;
using Jex.Member.Transports.SharedMemory;

namespace Jex.FunctionalTests.Deploy;

/// <summary>
/// A runtime started with deploy on and no UserCode:Path: it says ready with no functions, refuses
/// sessions with UNAVAILABLE until a first activation, then serves the deployed code. Over gRPC and
/// over shared memory, whose Deploy service is on a Unix socket named in the ready line.
/// </summary>
public sealed class EmptyStartTests(LiveCodeVersions versions) : IClassFixture<LiveCodeVersions>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<RuntimeProcess> StartEmptyAsync(params string[] arguments)
    {
        var runtime = RuntimeProcess.Start(["--UserCode:Deploy:Enabled=true", .. arguments], includeDefaults: false);
        try
        {
            await runtime.WaitReadyAsync(Timeout);
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }

        return runtime;
    }

    [Fact]
    public async Task OverGrpc_SessionsAreRefusedUntilAFirstDeploy_ThenServed()
    {
        await using var runtime = await StartEmptyAsync("--UserCode:Grpc:Port=0");
        Assert.Empty(runtime.ReadyInfo.Functions);
        Assert.Equal(runtime.Address, runtime.ReadyInfo.Deploy);

        await using (var early = new TestSession(GrpcTestChannel.Open(runtime.Address)))
        {
            var refused = await Assert.ThrowsAsync<SessionEndedException>(() => early.OpenAsync(TestSession.InitFor("tag")));
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            Assert.Contains("no code is deployed yet", refused.Message, StringComparison.Ordinal);
            Assert.Contains("jex deploy", refused.Message, StringComparison.Ordinal);
        }

        using var deploy = new DeployClient(runtime.Address);
        Assert.Empty((await deploy.ListAsync()).Versions);
        var activated = await deploy.DeployAsync(versions.V1);
        Assert.Equal(("v1", string.Empty), (activated.Version, activated.PreviousVersion));

        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        Assert.Equal("v1", (await session.OpenAsync(TestSession.InitFor("tag"))).CodeVersion);
        var result = (await session.RunAsync([TestSession.MakeBatch(1, ["a"])], inFlight: 1))[1];
        Assert.Equal(("a-v1", "v1"), (result.Results[0].Ok.Outputs_[0].Value.ToStringUtf8(), result.CodeVersion));
    }

    [Fact]
    public async Task OverSharedMemory_DeployIsOnTheSocketTheReadyLineNames_AndSessionsWaitForIt()
    {
        var uid = ShmLeftovers.NewUid();
        var runtime = await ShmLeftovers.RemoveFilesWhenDead(StartEmptyAsync("--UserCode:Transport=shared-memory", $"--UserCode:Uid={uid}"));
        var socket = runtime.Address + ".deploy";
        try
        {
            Assert.Equal("unix:" + socket, runtime.ReadyInfo.Deploy);
            await using (var early = new TestSession(SharedMemorySessionChannel.Open(runtime.Address)))
            {
                var refused = await Assert.ThrowsAsync<SessionEndedException>(() => early.OpenAsync(TestSession.InitFor("tag")));
                Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
                Assert.Contains("no code is deployed yet", refused.Message, StringComparison.Ordinal);
            }

            // The socket is bound when the host has started, just after the ready line.
            using var deploy = new DeployClient(runtime.ReadyInfo.Deploy!);
            var until = DateTime.UtcNow + Timeout;
            while (!File.Exists(socket) && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }

            Assert.Equal("v1", (await deploy.DeployAsync(versions.V1)).Version);
            await using (var session = new TestSession(SharedMemorySessionChannel.Open(runtime.Address)))
            {
                Assert.Equal("v1", (await session.OpenAsync(TestSession.InitFor("tag"))).CodeVersion);
                var result = (await session.RunAsync([TestSession.MakeBatch(1, ["a"])], inFlight: 1))[1];
                Assert.Equal(("a-v1", "v1"), (result.Results[0].Ok.Outputs_[0].Value.ToStringUtf8(), result.CodeVersion));
                await session.DrainAsync();
            }

            runtime.Signal(15);
            Assert.Equal(0, await runtime.WaitForExitAsync(Timeout));
            Assert.False(File.Exists(socket), "the deploy socket is removed at exit");
        }
        finally
        {
            await runtime.DisposeAsync();
            File.Delete(socket);
        }
    }
}

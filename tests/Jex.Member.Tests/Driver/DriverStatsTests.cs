using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Tests.Driver;

/// <summary>What the driver tells a deployer: the code version in sink order, its changes, and the runtime to deploy to.</summary>
public sealed class DriverStatsTests
{
    [Fact]
    public void SeeCodeVersion_CountsAChangeOnlyBetweenBatches_NotForTheFirstOne()
    {
        var stats = new DriverStats();
        var raised = new List<string>();
        stats.CodeVersionChanged += raised.Add;

        stats.SeeCodeVersion("v0", first: true);
        stats.SeeCodeVersion("v0", first: false);
        stats.SeeCodeVersion("v1", first: false);
        stats.SeeCodeVersion("v1", first: false);
        stats.SeeCodeVersion("v0", first: false);

        Assert.Equal("v0", stats.CodeVersion);
        Assert.Equal(2, stats.CodeVersionChanges);
        Assert.Equal(["v1", "v0"], raised);
    }

    [Fact]
    public void SeeCodeVersion_WhenTheRuntimeServesOnlyItsStartupCode_StaysEmptyAndUnchanged()
    {
        var stats = new DriverStats();

        stats.SeeCodeVersion("", first: true);
        stats.SeeCodeVersion("", first: false);

        Assert.Equal(("", 0L), (stats.CodeVersion, stats.CodeVersionChanges));
    }

    [Fact]
    public async Task CurrentRuntime_WhileTheSessionRuns_IsItsRuntimeAndToken_AndNullOnceTheJobEnded()
    {
        var runtime = new FakeRuntime(_ => null);
        var driver = new TransformDriver(runtime, runtime, new DriverOptions
        {
            Session = new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo" },
            LaunchOptions = () => new RuntimeLaunchOptions("the-token", TransportKind.Grpc, "/code"),
        }, NullLogger.Instance);
        var source = System.Threading.Channels.Channel.CreateUnbounded<Jex.Protocol.V1.Item>();
        Assert.Null(driver.CurrentRuntime);

        var run = driver.RunAsync(source.Reader, new CollectingSink(), CancellationToken.None);
        await driver.FirstReady.WaitAsync(TimeSpan.FromSeconds(10));
        var live = driver.CurrentRuntime;
        source.Writer.Complete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(live);
        Assert.Equal(("the-token", "fake://1", "fake runtime 1"), (live.Token, live.Ready.Address, live.Name));
        Assert.Null(driver.CurrentRuntime);
    }
}

using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Tests.Driver;

/// <summary>DriverOptions.PrepareRuntime: runs on every started runtime before its session, and its refusal ends the job.</summary>
public sealed class PrepareRuntimeTests
{
    private static DriverOptions Options(Func<LiveRuntime, CancellationToken, Task> prepare) => new()
    {
        Session = new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo" },
        LaunchOptions = () => new RuntimeLaunchOptions("tok", TransportKind.Grpc, ""),
        MaxBatchItems = 50,
        Restart = new RestartPolicy { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
        PrepareRuntime = prepare,
    };

    [Fact]
    public async Task PrepareRuntime_RunsOnEveryStartBeforeTheSessionOpens_RestartsIncluded()
    {
        var runtime = new FakeRuntime(n => n == 1 ? 5 : null);
        var prepared = new List<(string Address, string Token, int SessionsBefore)>();
        var driver = new TransformDriver(runtime, runtime, Options((live, _) =>
        {
            prepared.Add((live.Ready.Address, live.Token, runtime.Sessions.Count));
            return Task.CompletedTask;
        }), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(1_000), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([("fake://1", "tok", 0), ("fake://2", "tok", 1)], prepared);
        Assert.Equal(1_000L, driver.Stats.Out);
    }

    [Fact]
    public async Task PrepareRuntime_WhenItRefusesForGood_EndsTheJobWithItsMessageAndNoRestart()
    {
        var runtime = new FakeRuntime(_ => null);
        var driver = new TransformDriver(runtime, runtime, Options((_, _) =>
            throw new JobFailedException("fake runtime 1 refused the job's code: it does not load") { ExitCode = 3 }), NullLogger.Instance);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() =>
            driver.RunAsync(FakeRuntime.Source(10), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(("fake runtime 1 refused the job's code: it does not load", 3), (ex.Message, ex.ExitCode));
        Assert.Equal(1, runtime.Starts);
        Assert.Empty(runtime.Sessions);
    }
}

using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Tests.Driver;

/// <summary>The session's ordering reaches the runtime in every Init the driver sends.</summary>
public sealed class KeyOrderingInitTests
{
    private static async Task<List<Init>> InitsSentAsync(SessionSettings session)
    {
        var inits = new List<Init>();
        var runtime = new FakeRuntime(_ => null)
        {
            InitFailure = init =>
            {
                lock (inits)
                {
                    inits.Add(init.Clone());
                }

                return null;
            },
        };
        var options = new DriverOptions
        {
            Session = session,
            LaunchOptions = () => new RuntimeLaunchOptions("token", TransportKind.Grpc, "/code"),
            MaxBatchItems = 10,
            MaxInFlight = 2,
        };
        var driver = new TransformDriver(runtime, runtime, options, NullLogger.Instance);
        await driver.RunAsync(FakeRuntime.Source(20), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return inits;
    }

    [Fact]
    public async Task Init_WithKeyOrdering_CarriesOrderingAndMaxConcurrency()
    {
        var inits = await InitsSentAsync(new SessionSettings
        {
            JobId = "j", JobName = "job", StageName = "stage", Function = "echo", Ordering = Ordering.Key, MaxConcurrency = 64,
        });

        var init = Assert.Single(inits);
        Assert.Equal(Ordering.Key, init.Ordering);
        Assert.Equal(64u, init.MaxConcurrency);
    }

    [Fact]
    public async Task Init_ByDefault_AsksForBatchOrderingAndNoConcurrency()
    {
        var inits = await InitsSentAsync(new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo", MaxConcurrency = 64 });

        var init = Assert.Single(inits);
        Assert.Equal(Ordering.Batch, init.Ordering);
        Assert.Equal(0u, init.MaxConcurrency);
    }
}

using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Kind = Jex.Protocol.V1.MemberMessage.KindOneofCase;

namespace Jex.Member.Tests.Driver;

public sealed class InputSchemasTests
{
    private static Schemas SomeThing()
    {
        var schema = new CompactSchema { Id = 42, TypeName = "some-thing" };
        schema.Fields.Add(new CompactField { Name = "value", Kind = 9 });
        return new Schemas { Schemas_ = { schema } };
    }

    private static DriverOptions Options(Schemas? schemas) => new()
    {
        Session = new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo" },
        LaunchOptions = () => new RuntimeLaunchOptions("token", TransportKind.Grpc, "/code"),
        MaxBatchItems = 10,
        MaxInFlight = 2,
        InputSchemas = schemas,
        Restart = new RestartPolicy { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
    };

    [Fact]
    public async Task RunAsync_WithInputSchemas_AnnouncesThemAfterInitOnEverySessionBeforeAnyBatch_EvenAfterARestart()
    {
        var runtime = new FakeRuntime(n => n == 1 ? 3 : null);
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(SomeThing()), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(100), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, runtime.Starts);
        Assert.True(driver.Stats.Replayed > 0);
        Assert.Equal(100, sink.Puts.Count);
        Assert.Equal(2, runtime.Sessions.Count);
        foreach (var session in runtime.Sessions)
        {
            var kinds = session.ToArray();
            Assert.Equal([Kind.Init, Kind.Schemas, Kind.Batch], kinds.Take(3));
            Assert.Single(kinds, k => k == Kind.Schemas);
        }
    }

    [Fact]
    public async Task RunAsync_WithoutInputSchemas_SendsNoSchemasMessage()
    {
        var runtime = new FakeRuntime(_ => null);
        var driver = new TransformDriver(runtime, runtime, Options(new Schemas()), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(20), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var kinds = Assert.Single(runtime.Sessions).ToArray();
        Assert.Equal([Kind.Init, Kind.Batch], kinds.Take(2));
        Assert.DoesNotContain(Kind.Schemas, kinds);
    }
}

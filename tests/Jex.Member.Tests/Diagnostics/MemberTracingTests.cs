using System.Collections.Concurrent;
using System.Diagnostics;
using Jex.Member.Diagnostics;
using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Tests.Driver;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Testing.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Tests.Diagnostics;

// The tests of one class run one at a time: the ActivityListener is process-wide, and the test
// without one must not see another test's.
public sealed class MemberTracingTests
{
    private static DriverOptions Options(string job) => new()
    {
        Session = new SessionSettings { JobId = job, JobName = job, StageName = "stage", Function = "echo" },
        LaunchOptions = () => new RuntimeLaunchOptions("token", TransportKind.Grpc, "/code"),
        MaxBatchItems = 50,
        MaxInFlight = 2,
    };

    private static ActivityListener Listen(string job, ActivitySamplingResult sampling, ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MemberTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("jex.job") as string == job)
                {
                    stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Fact]
    public async Task RunAsync_WhenBatchSpansAreRecorded_SendsEachOnesTraceparentAndEndsItWithTheResult()
    {
        var job = "traced-" + Guid.NewGuid().ToString("N");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(job, ActivitySamplingResult.AllDataAndRecorded, stopped);
        var runtime = new FakeRuntime(_ => null)
        {
            Answer = item => item.Sequence % 50 == 7 ? new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.UserException } } : null,
        };
        var driver = new TransformDriver(runtime, runtime, Options(job), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(200), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var spans = stopped.ToDictionary(a => $"00-{a.TraceId.ToHexString()}-{a.SpanId.ToHexString()}-01");
        Assert.Equal(4, spans.Count);
        Assert.Equal(4, spans.Values.Select(a => a.TraceId).Distinct().Count());
        foreach (var batch in runtime.Batches)
        {
            Assert.True(spans.TryGetValue(batch.Traceparent, out var span), $"batch {batch.Id} carried '{batch.Traceparent}', no span of this job");
            Assert.Equal(MemberTracing.BatchSpanName, span.OperationName);
            Assert.Equal(ActivityKind.Client, span.Kind);
            Assert.Equal(default, span.ParentSpanId);
            Assert.Equal((long)batch.Id, span.GetTagItem("jex.batch.id"));
            Assert.Equal(50, span.GetTagItem("jex.batch.items"));
            Assert.Equal(1, span.GetTagItem("jex.batch.errors"));
            Assert.Equal("echo", span.GetTagItem("jex.function"));
            Assert.Equal("", batch.Tracestate);
        }
    }

    [Fact]
    public async Task RunAsync_WhenASpanIsOnlyPropagatedNotRecorded_SendsNoTraceparent()
    {
        var job = "unrecorded-" + Guid.NewGuid().ToString("N");
        using var listener = Listen(job, ActivitySamplingResult.PropagationData, new ConcurrentQueue<Activity>());
        var runtime = new FakeRuntime(_ => null);
        var driver = new TransformDriver(runtime, runtime, Options(job), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(100), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, runtime.Batches.Count);
        Assert.All(runtime.Batches, b => Assert.Equal("", b.Traceparent));
    }

    [Fact]
    public async Task RunAsync_WhenNobodyListens_SendsNoTraceparent()
    {
        var runtime = new FakeRuntime(_ => null);
        var driver = new TransformDriver(runtime, runtime, Options("untraced"), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(100), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, runtime.Batches.Count);
        Assert.All(runtime.Batches, b => Assert.Equal("", b.Traceparent));
    }

    [Fact]
    public void StartBatch_WhenNobodyListens_ReturnsNullAndAllocatesNothing()
    {
        var batch = new PendingBatch(0, [new Item()], 8);
        var session = Options("quiet").Session;
        MemberTracing.StartBatch(batch, session);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var activity = MemberTracing.StartBatch(batch, session);

        Assert.Null(activity);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal("", batch.ToMessage(1, 0).Traceparent);
    }

    [Fact]
    public async Task RunAsync_WhenTheRuntimeForwardsAUserLogForATracedBatch_LogsItInAScopeWithThatBatchsTraceAndSpanIds()
    {
        var job = "logged-" + Guid.NewGuid().ToString("N");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(job, ActivitySamplingResult.AllDataAndRecorded, stopped);
        var runtime = new FakeRuntime(_ => null) { LogEachBatch = true };
        var logger = new ScopeCapturingLogger();
        var driver = new TransformDriver(runtime, runtime, Options(job), logger);

        await driver.RunAsync(FakeRuntime.Source(150), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var forwarded = logger.Records.Where(r => r.Message.Contains("UserCode.Echo: echoing batch", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, forwarded.Count);
        var traceparents = runtime.Batches.ToDictionary(b => b.Id, b => b.Traceparent);
        foreach (var (message, scope) in forwarded)
        {
            var wireId = ulong.Parse(message[(message.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.NotNull(scope);
            Assert.Equal(traceparents[wireId], $"00-{scope["TraceId"]}-{scope["SpanId"]}-01");
        }

        Assert.Equal(3, stopped.Count);
    }

    [Fact]
    public async Task RunAsync_WhenTheForwardedLogNamesTheRuntimesSpan_LogsItInAScopeWithThatSpanInTheMembersTrace()
    {
        var job = "runtime-span-" + Guid.NewGuid().ToString("N");
        using var listener = Listen(job, ActivitySamplingResult.AllDataAndRecorded, new ConcurrentQueue<Activity>());
        // The runtime's batch span: a child of the traceparent, with a span id of its own.
        var runtime = new FakeRuntime(_ => null) { LogEachBatch = true, LogTrace = b => (b.Traceparent[3..35], "00f067aa0ba902b7") };
        var logger = new ScopeCapturingLogger();
        var driver = new TransformDriver(runtime, runtime, Options(job), logger);

        await driver.RunAsync(FakeRuntime.Source(50), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var (_, scope) = Assert.Single(logger.Records, r => r.Message.Contains("UserCode.Echo: echoing batch", StringComparison.Ordinal));
        var batch = Assert.Single(runtime.Batches);
        Assert.Equal(batch.Traceparent.Split('-')[1], scope!["TraceId"]);
        Assert.Equal("00f067aa0ba902b7", scope["SpanId"]);
    }

    [Fact]
    public async Task RunAsync_CountsOkFilteredAndFailedItemsByCode_AndOneRoundTripPerBatch()
    {
        var runtime = new FakeRuntime(_ => null)
        {
            Answer = item => (item.Sequence % 10) switch
            {
                0 => new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.Decode } },
                1 or 2 => new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.UserException } },
                3 => new ItemResult { Ok = new Outputs() },
                _ => null,
            },
        };
        var driver = new TransformDriver(runtime, runtime, Options("counted"), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(500), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var stats = driver.Stats;
        Assert.Equal((300L, 50L, 150L, 300L), (stats.Ok, stats.Filtered, stats.Errors, stats.Out));
        Assert.Equal([(ItemError.Types.Code.UserException, 100L), (ItemError.Types.Code.Decode, 50L)], stats.ErrorCodes());
        Assert.Equal(10, stats.Latency.Snapshot().Count);
    }
}

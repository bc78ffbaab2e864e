using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using Jex.FunctionalTests.Member;
using Jex.Member.Diagnostics;
using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports.Grpc;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// One trace across member and runtime: the member driver runs in this process (its spans caught
/// by an ActivityListener), the real jex-runtime exports its spans to a stand-in OTLP collector,
/// and user code logs through its ILogger.
/// </summary>
public sealed class TraceAcrossProcessesTests
{
    [Fact]
    public async Task ABatchsMemberSpan_IsTheParentOfTheRuntimesBatchSpan_AndItsTraceIdIsInTheForwardedUserLogsScope()
    {
        JexCli.RequireBuilt();
        using var collector = new OtlpReceiver();
        var job = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var memberSpans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == MemberTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("jex.job") as string == job)
                {
                    memberSpans.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var logger = new ScopeCapturingLogger();
        var driver = new TransformDriver(new ProcessLauncher(JexCli.Runtime, logger), new GrpcSessionConnector(), new DriverOptions
        {
            Session = new SessionSettings { JobId = job, JobName = job, StageName = "stage", Function = "logAndEcho", KeyFormat = Format.Text, ValueFormat = Format.Text },
            LaunchOptions = () => new RuntimeLaunchOptions(
                Convert.ToHexString(RandomNumberGenerator.GetBytes(32)), TransportKind.Grpc, JexCli.Samples,
                ExtraArguments: [$"--UserCode:Otlp:Endpoint={collector.Endpoint}", "--UserCode:Otlp:Protocol=http/protobuf"]),
            MaxBatchItems = 1,
            MaxInFlight = 1,
        }, logger);
        var source = Channel.CreateUnbounded<Item>();
        for (var i = 0; i < 3; i++)
        {
            source.Writer.TryWrite(new Item { Key = ByteString.CopyFromUtf8($"k{i}"), Value = ByteString.CopyFromUtf8($"v{i}"), Sequence = i });
        }

        source.Writer.Complete();

        // The driver stops its runtime at the end (SIGTERM), and the runtime sends its spans as it stops.
        await driver.RunAsync(source.Reader, new NullSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var deadline = Stopwatch.StartNew();
        while (collector.Spans.Count(s => s.Scope == "Jex.Runtime") < 3 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        Assert.Equal(3, memberSpans.Count);
        var runtimeSpans = collector.Spans.Where(s => s.Scope == "Jex.Runtime" && s.Name == "jex.runtime.batch").ToList();
        Assert.True(runtimeSpans.Count == 3, $"the collector got {string.Join(", ", collector.Spans.Select(s => $"{s.Scope}/{s.Name}"))} on {string.Join(", ", collector.Paths)}\n{logger}");
        foreach (var member in memberSpans)
        {
            var traceId = member.TraceId.ToHexString();
            var runtime = Assert.Single(runtimeSpans, s => s.TraceId == traceId);
            Assert.Equal(member.SpanId.ToHexString(), runtime.ParentSpanId);
            Assert.Equal("logAndEcho", runtime.Attributes["jex.function"]);
            var forwarded = Assert.Single(logger.Records, r => r.Message.Contains("UserCode", StringComparison.Ordinal) && r.Scope?.GetValueOrDefault("TraceId") as string == traceId);
            Assert.Contains("processing v", forwarded.Message, StringComparison.Ordinal);
        }
    }

    private sealed class NullSink : IResultSink
    {
        public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

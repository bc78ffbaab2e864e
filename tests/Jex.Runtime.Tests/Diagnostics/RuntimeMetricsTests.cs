using System.Diagnostics.Metrics;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Diagnostics;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Tests.Dispatch;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Tests.Diagnostics;

/// <summary>
/// The Meter's instruments after a known workload, read through OpenTelemetry's in-memory exporter.
/// Each test has a meter of its own name, so sessions of tests running in parallel do not count here.
/// </summary>
public sealed class RuntimeMetricsTests : IDisposable
{
    private readonly Meter _meter = new("Jex.Runtime.Tests." + Guid.NewGuid().ToString("N"));
    private readonly List<Metric> _exported = [];
    private readonly MeterProvider _provider;

    public RuntimeMetricsTests()
    {
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(_meter.Name).AddInMemoryExporter(_exported).Build();
    }

    public static class Functions
    {
        /// <summary>Even: ok; odd: filtered (null); negative: a user exception.</summary>
        public static int? Parity(int value) => value < 0
            ? throw new InvalidOperationException("negative")
            : value % 2 == 0 ? value : null;
    }

    [Theory]
    [InlineData(Ordering.Batch)]
    [InlineData(Ordering.Key)]
    public async Task Instruments_AfterOkFilteredAndFailedItems_CountEachByFunctionOutcomeAndCode(Ordering ordering)
    {
        await using (var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), new RuntimeCounters(new RuntimeMetrics(_meter)), b => b.SetMinimumLevel(LogLevel.Warning), nameof(Functions.Parity)))
        {
            var init = SessionHarness.InitFor(nameof(Functions.Parity), Format.Json);
            init.Ordering = ordering;
            await harness.InitAsync(init);

            // Batch 1: 4 ok, 3 filtered. Batch 2: 2 ok, 2 user exceptions, 1 that does not decode.
            await RunAsync(harness, 1, ["0", "1", "2", "3", "4", "5", "6"]);
            await RunAsync(harness, 2, ["8", "-1", "10", "-2", "\"not a number\""]);
            await harness.EndAsync();
        }

        _provider.ForceFlush();
        Assert.Equal(6, Sum("jex.runtime.items", ("function", "Parity"), ("outcome", "ok")));
        Assert.Equal(3, Sum("jex.runtime.items", ("function", "Parity"), ("outcome", "filtered")));
        Assert.Equal(3, Sum("jex.runtime.items", ("function", "Parity"), ("outcome", "error")));
        Assert.Equal(2, Sum("jex.runtime.item.errors", ("function", "Parity"), ("code", "USER_EXCEPTION")));
        Assert.Equal(1, Sum("jex.runtime.item.errors", ("function", "Parity"), ("code", "DECODE")));
        Assert.Equal(2, Sum("jex.runtime.batches", ("function", "Parity"), ("transport", "grpc")));
        Assert.Equal(0, Sum("jex.runtime.in_flight", ("function", "Parity")));
        Assert.Equal(0, Sum("jex.runtime.sessions", ("transport", "grpc")));
        Assert.True(Sum("jex.runtime.bytes.in", ("transport", "grpc")) > 0);
        Assert.True(Sum("jex.runtime.bytes.out", ("transport", "grpc")) > 0);

        var duration = Point("jex.runtime.batch.duration", ("function", "Parity"), ("transport", "grpc"));
        Assert.Equal(2, duration.GetHistogramCount());
        Assert.True(duration.GetHistogramSum() > 0);
        var size = Point("jex.runtime.batch.size", ("function", "Parity"));
        Assert.Equal(2, size.GetHistogramCount());
        Assert.Equal(12, size.GetHistogramSum());
    }

    [Fact]
    public async Task Instruments_WhileABatchRunsAndTheSessionIsOpen_ShowItInFlightAndOpen()
    {
        Blocking.Entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Blocking.Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = new SessionHarness(typeof(Blocking), new PayloadCodecs(), new RuntimeCounters(new RuntimeMetrics(_meter)), b => b.SetMinimumLevel(LogLevel.Warning), nameof(Blocking.Wait));
        await harness.InitAsync(SessionHarness.InitFor(nameof(Blocking.Wait), Format.Text));
        await harness.SendAsync(Batch(1, ["x"]));
        await Blocking.Entered.Task.WaitAsync(SessionHarness.Timeout);

        _provider.ForceFlush();
        Assert.Equal(1, Sum("jex.runtime.in_flight", ("function", "Wait")));
        Assert.Equal(1, Sum("jex.runtime.sessions", ("transport", "grpc")));

        Blocking.Release.TrySetResult();
        Assert.NotNull((await harness.ReadAsync()).Result);
        await harness.EndAsync();
        _exported.Clear();
        _provider.ForceFlush();
        Assert.Equal(0, Sum("jex.runtime.in_flight", ("function", "Wait")));
        Assert.Equal(0, Sum("jex.runtime.sessions", ("transport", "grpc")));
    }

    [Fact]
    public async Task ARefusedBatch_CountsItsItemsAsErrorsWithTheRefusalCode_AndNoBatch()
    {
        await using (var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), new RuntimeCounters(new RuntimeMetrics(_meter)), b => b.SetMinimumLevel(LogLevel.Warning), nameof(Functions.Parity)))
        {
            var init = SessionHarness.InitFor(nameof(Functions.Parity), Format.Json);
            init.MaxBatchItems = 2;
            await harness.InitAsync(init);
            await harness.SendAsync(Batch(1, ["0", "2", "4"]));
            Assert.Equal(ItemError.Types.Code.BatchTooLarge, (await harness.ReadAsync()).Result.Error.Code);
            await harness.EndAsync();
        }

        _provider.ForceFlush();
        Assert.Equal(3, Sum("jex.runtime.items", ("function", "Parity"), ("outcome", "error")));
        Assert.Equal(3, Sum("jex.runtime.item.errors", ("function", "Parity"), ("code", "BATCH_TOO_LARGE")));
        Assert.Equal(0, Sum("jex.runtime.batches", ("function", "Parity"), ("transport", "grpc")));
    }

    public static class Blocking
    {
        public static TaskCompletionSource Entered = new();
        public static TaskCompletionSource Release = new();

        public static async Task<string> Wait(string value)
        {
            Entered.TrySetResult();
            await Release.Task;
            return value;
        }
    }

    private static MemberMessage Batch(ulong id, string[] values)
    {
        var batch = new Batch { Id = id };
        foreach (var v in values)
        {
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8(v) });
        }

        return new MemberMessage { Batch = batch };
    }

    private static async Task RunAsync(SessionHarness harness, ulong id, string[] values)
    {
        await harness.SendAsync(Batch(id, values));
        RuntimeMessage message;
        while ((message = await harness.ReadAsync()).Result is null)
        {
        }

        Assert.Equal(values.Length, message.Result.Results.Count);
    }

    private long Sum(string instrument, params (string Key, string Value)[] tags)
    {
        var metric = _exported.LastOrDefault(m => m.Name == instrument);
        if (metric is null)
        {
            return 0;
        }

        long sum = 0;
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            if (Matches(point, tags))
            {
                sum += point.GetSumLong();
            }
        }

        return sum;
    }

    private MetricPoint Point(string instrument, params (string Key, string Value)[] tags)
    {
        var metric = _exported.Last(m => m.Name == instrument);
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            if (Matches(point, tags))
            {
                return point;
            }
        }

        throw new Xunit.Sdk.XunitException($"{instrument} has no point with {string.Join(", ", tags)}");
    }

    private static bool Matches(in MetricPoint point, (string Key, string Value)[] tags)
    {
        var found = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            found[tag.Key] = tag.Value;
        }

        return found.Count == tags.Length && tags.All(t => found.TryGetValue(t.Key, out var v) && Equals(v, t.Value));
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
    }
}

using System.Text.Json;
using Jex.Cli.Run;
using Jex.Member.Diagnostics;
using Jex.Member.Driver;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class RunFiguresTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-figures-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static JobDefinition Job() => new()
    {
        Name = "orders",
        FilePath = "/jobs/orders.yml",
        Resources = [],
        Source = new SourceStage("input", "START_FROM_OLDEST", 1),
        Sink = new SinkStage("output", 1),
        Uid = "u",
        Transform = new TransformStage
        {
            Name = "enrich-stage",
            Function = "enrichOrder",
            Service = new ServiceSpec(ServiceKind.Process, "/x/jex-runtime", [], null, null),
            Transport = new TransportSpec(TransportKind.SharedMemory, 0, null),
        },
    };

    // 6 in: 3 ok (4 outputs), 1 filtered, 2 failed (a decode, a user exception); 2 batches of 1 and
    // 3 ms. 1 ms reads back as 1.023, the top of its bucket (992-1023 us); 3 ms is the largest seen.
    private static DriverStats Stats()
    {
        var stats = new DriverStats();
        stats.AddIn(6);
        stats.AddOk(3);
        stats.AddOut(4);
        stats.AddFiltered(1);
        stats.AddErrors(2);
        stats.AddError(ItemError.Types.Code.Decode);
        stats.AddError(ItemError.Types.Code.UserException);
        stats.AddBatch();
        stats.AddBatch();
        stats.Latency.RecordMicroseconds(1_000);
        stats.Latency.RecordMicroseconds(3_000);
        return stats;
    }

    [Fact]
    public void WriteJson_WritesTheFunctionsItemsByOutcomeErrorCodesBatchesPercentilesRateAndElapsed()
    {
        var path = Path.Combine(_root, "m.json");

        RunFigures.WriteJson(path, Job(), Stats(), TimeSpan.FromSeconds(2), exitCode: 1);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Assert.Equal("orders", root.GetProperty("job").GetString());
        Assert.Equal("shared-memory", root.GetProperty("transport").GetString());
        Assert.Equal(1, root.GetProperty("exit_code").GetInt32());
        var fn = root.GetProperty("functions").GetProperty("enrichOrder");
        Assert.Equal("enrich-stage", fn.GetProperty("stage").GetString());
        var items = fn.GetProperty("items");
        Assert.Equal((6, 3, 1, 2), (items.GetProperty("in").GetInt32(), items.GetProperty("ok").GetInt32(), items.GetProperty("filtered").GetInt32(), items.GetProperty("error").GetInt32()));
        Assert.Equal(4, fn.GetProperty("outputs").GetInt32());
        Assert.Equal("""{"USER_EXCEPTION":1,"DECODE":1}""", JsonSerializer.Serialize(fn.GetProperty("error_codes")));
        Assert.Equal(2, fn.GetProperty("batches").GetInt32());
        var ms = fn.GetProperty("batch_ms");
        Assert.Equal(1.023, ms.GetProperty("p50").GetDouble());
        Assert.Equal(3.0, ms.GetProperty("p95").GetDouble());
        Assert.Equal(3.0, ms.GetProperty("p99").GetDouble());
        Assert.Equal(3.0, ms.GetProperty("max").GetDouble());
        Assert.Equal(3.0, fn.GetProperty("events_per_s").GetDouble());
        Assert.Equal(2.0, fn.GetProperty("elapsed_s").GetDouble());
    }

    [Fact]
    public void WriteJson_WhenNoBatchFinished_WritesNullPercentiles()
    {
        var path = Path.Combine(_root, "empty.json");

        RunFigures.WriteJson(path, Job(), new DriverStats(), TimeSpan.FromSeconds(1), exitCode: 0);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var ms = doc.RootElement.GetProperty("functions").GetProperty("enrichOrder").GetProperty("batch_ms");
        Assert.Equal(JsonValueKind.Null, ms.GetProperty("p99").ValueKind);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("functions").GetProperty("enrichOrder").GetProperty("error_codes").ValueKind);
    }

    [Fact]
    public void ProgressLine_GivesTheIntervalsRatesAndTheWindowsBatchPercentiles()
    {
        var stats = Stats();
        var window = stats.Latency.Snapshot().Since(LatencySnapshot.Empty);

        var line = RunFigures.ProgressLine(TimeSpan.FromSeconds(4), 2, stats, (In: 2, Out: 0, Events: 0), window);

        Assert.Equal("progress 4s: in=6 (2/s) out=4 (2/s) events/s=3 p50_ms=1.02 p99_ms=3.00 errors=2 restarts=0 runtime-pid=0", line);
    }

    [Fact]
    public void ProgressLine_WhenNoBatchEndedInTheInterval_SaysNotAvailable()
    {
        var line = RunFigures.ProgressLine(TimeSpan.FromSeconds(2), 2, new DriverStats(), (0, 0, 0), LatencySnapshot.Empty);

        Assert.Contains(" events/s=0 p50_ms=n/a p99_ms=n/a errors=0 ", line, StringComparison.Ordinal);
    }
}

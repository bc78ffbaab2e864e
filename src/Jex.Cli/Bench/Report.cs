using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;

namespace Jex.Cli.Bench;

/// <summary>The report: a JSON file in the shape tests/Jex.Benchmarks/README.md describes, and a readable table.</summary>
[SupportedOSPlatform("linux")]
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The targets in docs/performance.md, checked against the cells that measure them.</summary>
    public static IEnumerable<Goal> Goals(BenchReport report)
    {
        CellResult? Find(string path, int batch, int inFlight) => report.Results.FirstOrDefault(r =>
            r.Error is null && r.Cell.Path == path && r.Cell.Payload == 64 && r.Cell.Batch == batch
            && r.Cell.InFlight == inFlight && r.Cell.Function == "identity" && r.Cell.Format == "raw" && !r.Cell.KeyOrdered);
        CellResult? BestGrpc(int batch, int inFlight) =>
            new[] { Find("grpc-tcp", batch, inFlight), Find("grpc-uds", batch, inFlight) }.Where(r => r is not null).MaxBy(r => r!.EventsPerSecond);

        // With --shm-wait the shm path runs once per mode (shm-adaptive, shm-spin, ...): the goals
        // judge the first mode given, as a run without the option judges adaptive.
        var shm = report.Results.Select(r => r.Cell.Path).FirstOrDefault(p => p == "shm" || p.StartsWith("shm-", StringComparison.Ordinal)) ?? "shm";
        var grpc256 = BestGrpc(256, 4);
        var shm256 = Find(shm, 256, 4);
        yield return Goal.AtLeast("gRPC 256x64 B, 4 in flight (events/s)", grpc256?.EventsPerSecond, 2_000_000, grpc256?.Cell.Path);
        var grpc1 = BestGrpc(1, 4);
        yield return Goal.AtLeast("gRPC batch 1, 4 in flight (events/s)", grpc1?.EventsPerSecond, 40_000, grpc1?.Cell.Path);
        yield return Goal.AtLeast("shm 256x64 B, 4 in flight (events/s)", shm256?.EventsPerSecond, 6_000_000, shm);
        yield return Goal.AtLeast("shm / gRPC 256x64 B (ratio)", shm256 is null || grpc256 is null ? null : shm256.EventsPerSecond / grpc256.EventsPerSecond, 3, shm);
        var shm1 = Find(shm, 1, 1);
        // Round trips of a lone batch of one: at a fixed rate (coordinated omission corrected, so the
        // member's own sender waking on the same cores counts), and back to back (closed loop).
        yield return Goal.AtMost("shm round trip p50, fixed rate (us)", shm1?.Latency.P50, 5, shm);
        yield return Goal.AtMost("shm round trip p99, fixed rate (us)", shm1?.Latency.P99, 50, shm);
        yield return Goal.AtMost("shm round trip p50, closed loop (us)", shm1?.ClosedLatency.P50, 5, shm);
        yield return Goal.AtMost("shm round trip p99, closed loop (us)", shm1?.ClosedLatency.P99, 50, shm);
        var grpcRt = new[] { Find("grpc-tcp", 1, 1), Find("grpc-uds", 1, 1) }.Where(r => r is not null).MinBy(r => r!.Latency.P50);
        yield return Goal.AtMost("gRPC round trip p50, fixed rate (us)", grpcRt?.Latency.P50, 100, grpcRt?.Cell.Path);
        var grpcClosed = new[] { Find("grpc-tcp", 1, 1), Find("grpc-uds", 1, 1) }.Where(r => r is not null).MinBy(r => r!.ClosedLatency.P50);
        yield return Goal.AtMost("gRPC round trip p50, closed loop (us)", grpcClosed?.ClosedLatency.P50, 100, grpcClosed?.Cell.Path);
        yield return Goal.AtMost("runtime allocation, gRPC 256x64 B (B/event)", grpc256?.AllocatedBytesPerEvent, 16, grpc256?.Cell.Path);
        yield return Goal.AtMost("runtime allocation, shm 256x64 B (B/event)", shm256?.AllocatedBytesPerEvent, 16, shm);
        var shmSpread = report.Results.Where(r => r.Error is null && r.Cell.Path == shm && r.Cell.Function == "identity" && !r.Cell.KeyOrdered && double.IsFinite(r.SpreadIqrPercent))
            .MaxBy(r => r.SpreadIqrPercent);
        yield return Goal.AtMost("shm cells, spread as IQR / median (%)", shmSpread?.SpreadIqrPercent, 15, shmSpread is null ? shm : $"{shm}, worst {shmSpread.Cell.Batch}x{shmSpread.Cell.InFlight} {shmSpread.Cell.Format}");
        foreach (var goal in KeyOrderingGoals(report))
        {
            yield return goal;
        }

        var startup = report.Startup.Where(s => s.Milliseconds.Count > 0 && s.Path != BenchSettings.JetPyPath).Select(s => s.Median).DefaultIfEmpty(double.NaN).Min();
        yield return Goal.AtMost("startup, fork-to-ready p50 (ms)", double.IsNaN(startup) ? null : startup, 150, "best path");
    }

    /// <summary>
    /// Key ordering: async5ms at ORDERING_KEY over ORDERING_BATCH on the path where the gain is
    /// smallest, and the allocation of identity at ORDERING_KEY on the path where it is largest.
    /// </summary>
    private static IEnumerable<Goal> KeyOrderingGoals(BenchReport report)
    {
        CellResult? Find(string path, string function, string ordering) => report.Results.FirstOrDefault(r =>
            r.Error is null && r.Cell.Path == path && r.Cell.Function == function && r.Cell.Ordering == ordering && r.Cell.Batch == 256);
        var ratios = report.Results.Select(r => r.Cell.Path).Distinct()
            .Select(path => (Path: path, Key: Find(path, BenchSettings.Async5Ms, Cell.KeyOrder), Batch: Find(path, BenchSettings.Async5Ms, Cell.BatchOrder)))
            .Where(p => p.Key is not null && p.Batch is { EventsPerSecond: > 0 })
            .Select(p => (p.Path, Ratio: p.Key!.EventsPerSecond / p.Batch!.EventsPerSecond))
            .ToList();
        var worst = ratios.Count == 0 ? default : ratios.MinBy(r => r.Ratio);
        yield return Goal.AtLeast("async5ms x256, ORDERING_KEY / ORDERING_BATCH (ratio)", ratios.Count == 0 ? null : worst.Ratio, 40, worst.Path);
        var keyed = report.Results.Where(r => r.Error is null && r.Cell.KeyOrdered && r.Cell.Function == "identity" && r.Cell.Batch == 256)
            .MaxBy(r => r.AllocatedBytesPerEvent);
        yield return Goal.AtMost("runtime allocation, ORDERING_KEY 256x64 B (B/event)", keyed?.AllocatedBytesPerEvent, 16, keyed?.Cell.Path);
    }

    public static double? StartupP50(BenchReport report)
    {
        var all = report.Startup.Where(s => s.Path != BenchSettings.JetPyPath).SelectMany(s => s.Milliseconds).Order().ToArray();
        return all.Length == 0 ? null : all[all.Length / 2];
    }

    public static void WriteJson(BenchReport report, BenchSettings settings, string file)
    {
        using var stream = File.Create(file);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        WriteStrings(json, "machine", report.Machine);
        Number(json, "startup_ms_p50", StartupP50(report));
        json.WriteStartObject("startup");
        foreach (var s in report.Startup.Where(s => s.Milliseconds.Count > 0))
        {
            json.WriteStartObject(s.Path);
            Number(json, "p50_ms", s.Median);
            Number(json, "min_ms", s.Milliseconds.Min());
            Number(json, "max_ms", s.Milliseconds.Max());
            Number(json, "cpu_to_ready_p50_ms", s.CpuMedian);
            json.WriteStartArray("samples_ms");
            foreach (var ms in s.Milliseconds)
            {
                json.WriteNumberValue(Math.Round(ms, 1));
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteStartArray("results");
        foreach (var r in report.Results)
        {
            json.WriteStartObject();
            json.WriteString("transport", r.Cell.Path);
            json.WriteNumber("payload", r.Cell.Payload);
            json.WriteNumber("batch", r.Cell.Batch);
            json.WriteNumber("inflight", r.Cell.InFlight);
            json.WriteString("function", r.Cell.Function);
            json.WriteString("format", r.Cell.Format);
            json.WriteString("user_function", r.Cell.UserFunction);
            json.WriteString("ordering", r.Cell.Ordering);
            if (r.Error is not null)
            {
                json.WriteString("error", r.Error);
                json.WriteEndObject();
                continue;
            }

            Number(json, "events_per_s", r.EventsPerSecond);
            Number(json, "events_per_s_min", r.EventsPerSecondMin);
            Number(json, "events_per_s_max", r.EventsPerSecondMax);
            Number(json, "spread_pct", r.SpreadPercent);
            Number(json, "spread_iqr_pct", r.SpreadIqrPercent);
            Numbers(json, "events_per_s_repeats", r.RepeatEventsPerSecond);
            Numbers(json, "other_cores_repeats", r.RepeatOtherCores);
            Number(json, "warmup_ms", r.WarmUpMilliseconds);
            Number(json, "mb_per_s", r.MegabytesPerSecond);
            Number(json, "p50_us", r.Latency.P50);
            Number(json, "p99_us", r.Latency.P99);
            Number(json, "max_us", r.Latency.Max);
            Number(json, "fixed_rate_batches_per_s", r.FixedRateBatchesPerSecond);
            Number(json, "closed_p50_us", r.ClosedLatency.P50);
            Number(json, "closed_p99_us", r.ClosedLatency.P99);
            Number(json, "closed_max_us", r.ClosedLatency.Max);
            Number(json, "alloc_b_per_event", r.AllocatedBytesPerEvent);
            Number(json, "cpu_us_per_event", r.CpuUsPerEvent);
            Number(json, "cpu_us_per_event_runtime", r.RuntimeCpuUsPerEvent);
            Number(json, "cpu_us_per_event_member", r.MemberCpuUsPerEvent);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteStrings(json, "unavailable", report.Unavailable);
        json.WriteStartArray("goals");
        foreach (var g in Goals(report))
        {
            json.WriteStartObject();
            json.WriteString("goal", g.Name);
            Number(json, "target", g.Target);
            Number(json, "measured", g.Measured);
            json.WriteString("status", g.Status);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("method");
        json.WriteNumber("warmup_ms", settings.WarmUp.TotalMilliseconds);
        json.WriteNumber("warmup_limit_ms", settings.WarmUpLimit.TotalMilliseconds);
        json.WriteString("spread_target_uses", "spread_iqr_pct");
        json.WriteNumber("repeats", settings.Repeats);
        json.WriteNumber("measure_ms", settings.Measure.TotalMilliseconds);
        json.WriteNumber("fixed_rate_ms", settings.FixedRate.TotalMilliseconds);
        json.WriteNumber("fixed_rate_load", settings.FixedRateLoad);
        json.WriteNumber("starts_per_path", settings.Starts);
        json.WriteBoolean("quick", settings.Quick);
        json.WriteNumber("elapsed_s", Math.Round(report.Elapsed.TotalSeconds, 1));
        json.WriteEndObject();
        json.WriteEndObject();
    }

    public static string ProgressLine(CellResult r) => r.Error is not null
        ? $"{r.Cell}: ERROR {r.Error}"
        : string.Create(Inv, $"{r.Cell}: {r.EventsPerSecond,12:N0} ev/s (±{r.SpreadPercent:F0}%, IQR ±{r.SpreadIqrPercent:F0}%; repeats {Repeats(r)}) p50 {r.Latency.P50:F0} us p99 {r.Latency.P99:F0} us, {r.AllocatedBytesPerEvent:F0} B/ev, {r.CpuUsPerEvent:F2} us cpu/ev");

    public static string Table(BenchReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"Machine: {Machine.Line(report.Machine)}");
        sb.AppendLine();
        sb.AppendLine("| path | payload | batch | in flight | function | format | events/s (median) | spread | IQR | MB/s | p50 µs | p99 µs | max µs | closed p50 µs | alloc B/event | CPU µs/event (runtime+member) |");
        sb.AppendLine("|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in report.Results)
        {
            if (r.Error is not null)
            {
                sb.AppendLine(Inv, $"| {r.Cell.Path} | {Size(r.Cell.Payload)} | {r.Cell.Batch} | {r.Cell.InFlight} | {r.Cell.FunctionLabel} | {r.Cell.Format} | error: {r.Error.ReplaceLineEndings(" ")} ||||||||||");
                continue;
            }

            sb.AppendLine(Inv,
                $"| {r.Cell.Path} | {Size(r.Cell.Payload)} | {r.Cell.Batch} | {r.Cell.InFlight} | {r.Cell.FunctionLabel} | {r.Cell.Format} | {r.EventsPerSecond:N0} | ±{r.SpreadPercent:F0}% | {Percent(r.SpreadIqrPercent)} | {r.MegabytesPerSecond:N1} | {r.Latency.P50:N0} | {r.Latency.P99:N0} | {r.Latency.Max:N0} | {r.ClosedLatency.P50:N0} | {(double.IsFinite(r.AllocatedBytesPerEvent) ? r.AllocatedBytesPerEvent.ToString("N0", Inv) : "n/a")} | {r.RuntimeCpuUsPerEvent:F2}+{r.MemberCpuUsPerEvent:F2} |");
        }

        foreach (var (path, reason) in report.Unavailable)
        {
            sb.AppendLine(Inv, $"| {path} | unavailable: {reason} |||||||||||||||");
        }

        sb.AppendLine();
        sb.AppendLine("Fork-to-ready (ms): " + string.Join("; ", report.Startup.Where(s => s.Milliseconds.Count > 0)
            .Select(s => string.Create(Inv, $"{s.Path} p50 {s.Median:F0} (min {s.Milliseconds.Min():F0}, max {s.Milliseconds.Max():F0}, {s.Milliseconds.Count} starts; CPU to ready {s.CpuMedian:F0})"))));
        sb.AppendLine();
        sb.AppendLine("| goal | target | measured | status |");
        sb.AppendLine("|---|---:|---:|---|");
        foreach (var g in Goals(report))
        {
            sb.AppendLine(Inv, $"| {g.Name} | {g.Target:#,0.##} | {(g.Measured is { } m ? m.ToString("#,0.##", Inv) : "n/a")} | {g.Status} |");
        }

        sb.AppendLine();
        sb.AppendLine("p50/p99/max: round trip per batch in fixed-rate mode at half the cell's closed-loop rate, timed from each batch's");
        sb.AppendLine("scheduled send (coordinated omission corrected). closed p50: the same under full closed-loop load. alloc: runtime");
        sb.AppendLine("bytes allocated per event (Pong.stats deltas; direct shares one process with the harness). MB/s: payload bytes.");
        sb.AppendLine("spread: (max - min) / median of the repeats' events/s; IQR: (third - first quartile) / median, which the spread goal");
        sb.AppendLine("judges (one repeat that load elsewhere on the machine hit does not set it). The JSON keeps every repeat.");
        if (report.Results.Any(r => r.Cell.Format == CompactWorkload.FormatName))
        {
            sb.AppendLine("compact: Hazelcast Data of Compact bench-record {id: INT64, payload: ARRAY_OF_INT8}, sized to the payload, long keys;");
            sb.AppendLine("identity and burn1us run as compactEcho and compactBurn1us, which bind it to a POCO (decode and encode per event).");
        }
        if (report.Results.Any(r => r.Cell.Path == BenchSettings.JetPyPath))
        {
            sb.AppendLine("jetpy: Hazelcast Jet's Python user-code server from --jetpy, identity over strings of the payload's length, one gRPC");
            sb.AppendLine("stream per cell; its runtime CPU is the Python process's; alloc is not known for it.");
        }

        sb.AppendLine(Inv, $"Elapsed: {report.Elapsed.TotalSeconds:F0} s");
        return sb.ToString();
    }

    /// <summary>Each repeat's events/s with the cores the rest of the machine used meanwhile, e.g. "1.2M@0.3".</summary>
    private static string Repeats(CellResult r) => string.Join(" ", r.RepeatEventsPerSecond.Select((v, i) =>
        string.Create(Inv, $"{Short(v)}@{(i < r.RepeatOtherCores.Count ? r.RepeatOtherCores[i] : double.NaN):F1}")));

    private static string Percent(double v) => double.IsFinite(v) ? string.Create(Inv, $"±{v:F0}%") : "n/a";

    private static string Short(double v) => v >= 1e6 ? string.Create(Inv, $"{v / 1e6:F2}M") : v >= 1e3 ? string.Create(Inv, $"{v / 1e3:F1}k") : string.Create(Inv, $"{v:F0}");

    private static string Size(int bytes) => bytes >= 1024 ? $"{bytes / 1024} KiB" : $"{bytes} B";

    /// <summary>A JSON object of string properties, in the dictionary's order; also the soak report's machine.</summary>
    internal static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, string> values)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in values)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private static void Numbers(Utf8JsonWriter json, string name, IReadOnlyList<double> values)
    {
        json.WriteStartArray(name);
        foreach (var v in values)
        {
            if (double.IsFinite(v))
            {
                json.WriteNumberValue(Math.Round(v, v >= 100 ? 0 : 2));
            }
            else
            {
                json.WriteNullValue();
            }
        }

        json.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, Math.Round(v, v >= 100 ? 0 : 2));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}

internal sealed record Goal(string Name, double Target, double? Measured, string Status)
{
    public static Goal AtLeast(string name, double? measured, double target, string? where) =>
        new(name, target, measured, measured is not { } m ? "not measured"
            : m >= target ? $"met ({where})" : string.Create(CultureInfo.InvariantCulture, $"missed by {(1 - (m / target)) * 100:F0}% ({where})"));

    public static Goal AtMost(string name, double? measured, double target, string? where) =>
        new(name, target, measured, measured is not { } m ? "not measured"
            : m <= target ? $"met ({where})" : string.Create(CultureInfo.InvariantCulture, $"missed: {m / target:F1}x the target ({where})"));
}

using System.Runtime.Versioning;
using System.Text.Json;

namespace Jex.Cli.Bench;

/// <summary>
/// Reads a report that <see cref="Report.WriteJson"/> wrote back into a <see cref="BenchReport"/>,
/// so a page can be made from an earlier run (<c>jex bench --html R.html --from X.json</c>).
/// Figures the JSON does not keep (each latency sample, each CPU-to-ready sample) come back as the
/// percentiles and medians it does keep.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ReportReader
{
    /// <exception cref="InvalidDataException">The file is not JSON, or not a jex bench report; the message says which part.</exception>
    public static BenchReport Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var startup = new List<StartupResult>();
            foreach (var s in Object(root, "startup").EnumerateObject())
            {
                var samples = Get(s.Value, "samples_ms").EnumerateArray().Select(e => e.GetDouble()).ToList();
                var cpu = Double(s.Value, "cpu_to_ready_p50_ms");
                startup.Add(new StartupResult(s.Name, samples, double.IsNaN(cpu) ? [] : [cpu]));
            }

            var results = new List<CellResult>();
            foreach (var r in Array(root, "results").EnumerateArray())
            {
                var cell = new Cell(
                    Get(r, "transport").GetString()!, Get(r, "payload").GetInt32(), Get(r, "batch").GetInt32(),
                    Get(r, "inflight").GetInt32(), Get(r, "function").GetString()!, Get(r, "format").GetString()!,
                    r.TryGetProperty("ordering", out var ordering) && ordering.GetString() is { } o ? o : Cell.BatchOrder);
                if (r.TryGetProperty("error", out var error))
                {
                    results.Add(new CellResult(cell) { Error = error.GetString() });
                    continue;
                }

                results.Add(new CellResult(cell)
                {
                    EventsPerSecond = Double(r, "events_per_s"),
                    EventsPerSecondMin = Double(r, "events_per_s_min"),
                    EventsPerSecondMax = Double(r, "events_per_s_max"),
                    RepeatEventsPerSecond = Doubles(r, "events_per_s_repeats"),
                    RepeatOtherCores = Doubles(r, "other_cores_repeats"),
                    WarmUpMilliseconds = Double(r, "warmup_ms"),
                    Latency = new Percentiles(Double(r, "p50_us"), Double(r, "p99_us"), Double(r, "max_us"), 0),
                    FixedRateBatchesPerSecond = Double(r, "fixed_rate_batches_per_s"),
                    ClosedLatency = new Percentiles(Double(r, "closed_p50_us"), Double(r, "closed_p99_us"), Double(r, "closed_max_us"), 0),
                    AllocatedBytesPerEvent = Double(r, "alloc_b_per_event"),
                    RuntimeCpuUsPerEvent = Double(r, "cpu_us_per_event_runtime"),
                    MemberCpuUsPerEvent = Double(r, "cpu_us_per_event_member"),
                });
            }

            var elapsed = root.TryGetProperty("method", out var method) && method.TryGetProperty("elapsed_s", out var e) ? e.GetDouble() : 0;
            return new BenchReport(Strings(root, "machine"), startup, results, Strings(root, "unavailable"), TimeSpan.FromSeconds(elapsed));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path} is not a jex bench --json report ({ex.Message}); make one with jex bench --json {Path.GetFileName(path)}", ex);
        }
    }

    private static JsonElement Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var value) ? value : throw new InvalidOperationException($"no '{name}'");

    private static JsonElement Object(JsonElement root, string name) =>
        Get(root, name) is { ValueKind: JsonValueKind.Object } value ? value : throw new InvalidOperationException($"'{name}' is not an object");

    private static JsonElement Array(JsonElement root, string name) =>
        Get(root, name) is { ValueKind: JsonValueKind.Array } value ? value : throw new InvalidOperationException($"'{name}' is not an array");

    private static Dictionary<string, string> Strings(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
            : [];

    /// <summary>An array of numbers (null entries as NaN); empty when the report is older than the field.</summary>
    private static double[] Doubles(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN)]
            : [];

    private static double Double(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : double.NaN;
}

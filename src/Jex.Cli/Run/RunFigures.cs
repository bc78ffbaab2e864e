using System.Globalization;
using System.Text.Json;
using Jex.Cli.Record;
using Jex.Member.Diagnostics;
using Jex.Member.Driver;
using Jex.Protocol.Contract;

namespace Jex.Cli.Run;

/// <summary>
/// What <c>jex run</c> reports of a running stage beyond its counts: the progress line's rates and
/// batch round-trip percentiles, the summary's <c>p99_ms=</c>, and the <c>--metrics</c> file.
/// </summary>
internal static class RunFigures
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Items that have a result: ok, filtered or failed.</summary>
    public static long Events(DriverStats stats) => stats.Ok + stats.Filtered + stats.Errors;

    /// <summary>Milliseconds with two decimals, or "n/a" when no batch was measured.</summary>
    public static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : ms.ToString("0.00", Inv);

    /// <summary>
    /// One progress line: the counts, events with a result per second and the batch round trip's
    /// p50/p99 over <paramref name="window"/>, the interval since the last line.
    /// </summary>
    public static string ProgressLine(TimeSpan elapsed, double seconds, DriverStats stats, (long In, long Out, long Events) last, LatencySnapshot window) =>
        string.Create(Inv,
            $"progress {elapsed.TotalSeconds:0}s: in={stats.In} ({(stats.In - last.In) / seconds:0}/s) out={stats.Out} ({(stats.Out - last.Out) / seconds:0}/s) events/s={(Events(stats) - last.Events) / seconds:0} p50_ms={Ms(window.PercentileMs(0.50))} p99_ms={Ms(window.PercentileMs(0.99))} errors={stats.Errors} restarts={stats.Restarts} runtime-pid={stats.RuntimePid}");

    /// <summary>The --metrics file: the job, and per function its final figures.</summary>
    public static void WriteJson(string path, JobDefinition job, DriverStats stats, TimeSpan elapsed, int exitCode)
    {
        var latency = stats.Latency.Snapshot();
        var transform = job.Transform;
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("job", job.Name);
        json.WriteString("transport", transform.Transport.Kind.ToWire());
        json.WriteString("service", transform.Service.Name);
        json.WriteNumber("exit_code", exitCode);
        json.WriteNumber("elapsed_s", Math.Round(elapsed.TotalSeconds, 3));
        json.WriteStartObject("functions");
        json.WriteStartObject(transform.Function);
        json.WriteString("stage", transform.Name);
        json.WriteStartObject("items");
        json.WriteNumber("in", stats.In);
        json.WriteNumber("ok", stats.Ok);
        json.WriteNumber("filtered", stats.Filtered);
        json.WriteNumber("error", stats.Errors);
        json.WriteEndObject();
        json.WriteNumber("outputs", stats.Out);
        json.WriteStartObject("error_codes");
        foreach (var (code, count) in stats.ErrorCodes())
        {
            json.WriteNumber(RecordFormat.CodeName(code), count);
        }

        json.WriteEndObject();
        json.WriteNumber("batches", stats.Batches);
        json.WriteNumber("restarts", stats.Restarts);
        json.WriteNumber("replayed", stats.Replayed);
        json.WriteStartObject("batch_ms");
        Number(json, "p50", latency.PercentileMs(0.50));
        Number(json, "p95", latency.PercentileMs(0.95));
        Number(json, "p99", latency.PercentileMs(0.99));
        Number(json, "max", latency.Count == 0 ? double.NaN : latency.MaxMicroseconds / 1000.0);
        json.WriteEndObject();
        Number(json, "events_per_s", elapsed > TimeSpan.Zero ? Events(stats) / elapsed.TotalSeconds : double.NaN);
        json.WriteNumber("elapsed_s", Math.Round(elapsed.TotalSeconds, 3));
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, Math.Round(value, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}

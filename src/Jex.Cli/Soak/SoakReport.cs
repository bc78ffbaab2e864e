using System.Runtime.Versioning;
using System.Text.Json;
using Jex.Cli.Bench;

namespace Jex.Cli.Soak;

/// <summary>The <c>--json</c> file: settings, machine, and per transport the counts, the RSS samples and the verdict.</summary>
[SupportedOSPlatform("linux")]
internal static class SoakReport
{
    public static void WriteJson(IReadOnlyList<SoakResult> results, SoakSettings settings, IReadOnlyDictionary<string, string> machine, string file)
    {
        using var stream = File.Create(file);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("verdict", results.All(r => r.Verdict.Passed) ? "pass" : "fail");
        Report.WriteStrings(json, "machine", machine);
        json.WriteStartObject("settings");
        json.WriteNumber("seconds", settings.Duration.TotalSeconds);
        json.WriteNumber("warmup_min_s", settings.Warmup.TotalSeconds);
        json.WriteNumber("warmup_max_s", settings.WarmupMax.TotalSeconds);
        json.WriteNumber("payload", settings.Payload);
        json.WriteNumber("batch", settings.Batch);
        json.WriteNumber("in_flight", settings.InFlight);
        json.WriteString("function", settings.Function);
        json.WriteNumber("reference_s", settings.EffectiveReferenceSeconds);
        json.WriteNumber("tolerance_percent", settings.TolerancePercent);
        json.WriteEndObject();
        json.WriteStartArray("transports");
        foreach (var r in results)
        {
            var v = r.Verdict;
            var c = r.Counts;
            json.WriteStartObject();
            json.WriteString("transport", r.Path);
            json.WriteString("verdict", v.Passed ? "pass" : "fail");
            json.WriteStartArray("reasons");
            foreach (var reason in v.Reasons)
            {
                json.WriteStringValue(reason);
            }

            json.WriteEndArray();
            if (r.Error is not null)
            {
                json.WriteString("error", r.Error);
            }

            if (r.FirstWrong is not null)
            {
                json.WriteString("first_wrong", r.FirstWrong);
            }

            json.WriteNumber("runtime_pid", r.RuntimePid);
            json.WriteNumber("seconds", Math.Round(r.Seconds, 3));
            json.WriteNumber("warmup_s", Math.Round(r.WarmupSeconds, 3));
            json.WriteNumber("events_per_s", Math.Round(r.EventsPerSecond));
            json.WriteNumber("batches_sent", c.BatchesSent);
            json.WriteNumber("batches_received", c.BatchesReceived);
            json.WriteNumber("items_sent", c.ItemsSent);
            json.WriteNumber("items_ok", c.ItemsOk);
            json.WriteNumber("items_wrong", c.ItemsWrong);
            json.WriteNumber("duplicates", c.Duplicates);
            json.WriteNumber("unknown", c.Unknown);
            json.WriteNumber("lost", c.Lost);
            WriteKib(json, "rss_reference_kib", v.Reference?.RuntimeRssBytes);
            if (v.Reference is { } reference)
            {
                json.WriteNumber("rss_reference_at_s", Math.Round(reference.Seconds, 3));
            }

            WriteKib(json, "rss_final_kib", v.Final?.RuntimeRssBytes);
            WriteKib(json, "rss_max_kib", v.MaxRuntimeRssBytes);
            if (v.GrowthPercent is { } growth)
            {
                json.WriteNumber("rss_growth_percent", Math.Round(growth, 2));
            }

            // The window's samples, one a second; the warm-up's apart, so "samples" counts the window.
            WriteSamples(json, "samples", r.Samples.Where(s => s.Seconds >= 0));
            WriteSamples(json, "warmup_samples", r.Samples.Where(s => s.Seconds < 0));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteSamples(Utf8JsonWriter json, string name, IEnumerable<RssSample> samples)
    {
        json.WriteStartArray(name);
        foreach (var s in samples)
        {
            json.WriteStartObject();
            json.WriteNumber("t_s", Math.Round(s.Seconds, 3));
            json.WriteNumber("rss_kib", s.RuntimeRssBytes / 1024);
            json.WriteNumber("member_rss_kib", s.MemberRssBytes / 1024);
            json.WriteNumber("items_ok", s.Events);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteKib(Utf8JsonWriter json, string name, long? bytes)
    {
        if (bytes is { } b)
        {
            json.WriteNumber(name, b / 1024);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}

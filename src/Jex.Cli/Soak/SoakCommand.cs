using System.CommandLine;
using System.Globalization;
using System.Runtime.Versioning;
using Jex.Cli.Bench;

namespace Jex.Cli.Soak;

/// <summary>
/// <c>jex soak</c>: each transport at saturation for a while against a real forked runtime,
/// checking that nothing is lost and that the runtime's memory does not creep. Exit code 0 when
/// every transport passed, 1 when one failed, 2 on bad arguments.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var runtime = ForkedRuntimeOptions.Runtime();
        var samples = ForkedRuntimeOptions.Samples("identity function");
        var paths = new Option<string?>("--paths") { HelpName = "LIST", Description = "Comma-separated transports, each run in turn (default all): " + string.Join(",", SoakSettings.AllPaths) };
        var seconds = new Option<int?>("--seconds") { HelpName = "N", Description = "How long each transport runs after its warm-up (default 60)." };
        var minutes = new Option<int?>("--minutes") { HelpName = "N", Description = "How long each transport runs after its warm-up, in minutes (instead of --seconds)." };
        var warmup = new Option<int?>("--warmup-seconds") { HelpName = "N", Description = "Least saturation before the measured window; the warm-up then ends when the runtime's RSS is flat (within 2% over 5 s), at most 30 s later. Its items are checked, its RSS is not judged (default 10)." };
        var payload = new Option<int?>("--payload") { HelpName = "BYTES", Description = $"Bytes per item value (default 64, at least {SoakSettings.MinPayload})." };
        var batch = new Option<int?>("--batch") { HelpName = "N", Description = "Items per batch (default 256)." };
        var inFlight = new Option<int?>("--inflight") { HelpName = "N", Description = "Batches in flight (default 4)." };
        var reference = new Option<double?>("--reference-seconds") { HelpName = "N", Description = "The RSS compared with the final one is the first sample at or after this time (default 10; never later than a third of the run)." };
        var tolerance = new Option<double?>("--tolerance") { HelpName = "PERCENT", Description = "How far the final RSS may be above the reference, in percent (default 10)." };
        var json = new Option<string?>("--json") { HelpName = "FILE", Description = "Also write the samples and the verdict as JSON to this file." };

        var command = new Command("soak", "Run each transport at saturation against a forked jex-runtime; fail on a lost, duplicated or wrong item, or on RSS growth.")
        {
            runtime, samples, paths, seconds, minutes, warmup, payload, batch, inFlight, reference, tolerance, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!ForkedRuntimeOptions.RunsHere("soak"))
            {
                return 2;
            }

            SoakSettings settings;
            try
            {
                settings = Parse(
                    parse.GetValue(runtime)!,
                    parse.GetValue(samples)!,
                    parse.GetValue(paths),
                    parse.GetValue(seconds),
                    parse.GetValue(minutes),
                    parse.GetValue(warmup),
                    parse.GetValue(payload),
                    parse.GetValue(batch),
                    parse.GetValue(inFlight),
                    parse.GetValue(reference),
                    parse.GetValue(tolerance));
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync("jex soak: " + e.Message).ConfigureAwait(false);
                return 2;
            }

            return await RunAsync(settings, parse.GetValue(json), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    internal static SoakSettings Parse(string runtime, string samples, string? paths, int? seconds, int? minutes, int? warmup, int? payload, int? batch, int? inFlight, double? reference, double? tolerance)
    {
        if (seconds is not null && minutes is not null)
        {
            throw new ArgumentException("give --seconds or --minutes, not both");
        }

        var settings = new SoakSettings { Runtime = Path.GetFullPath(runtime), Samples = Path.GetFullPath(samples) };
        var duration = minutes is { } m ? Positive(m, "--minutes") * 60 : seconds is { } s ? Positive(s, "--seconds") : settings.Duration.TotalSeconds;
        settings = settings with
        {
            Paths = paths is null ? settings.Paths : [.. paths.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p =>
                SoakSettings.AllPaths.Contains(p, StringComparer.Ordinal) ? p : throw new ArgumentException($"--paths: '{p}' is not one of {string.Join(", ", SoakSettings.AllPaths)}"))],
            Duration = TimeSpan.FromSeconds(duration),
            Warmup = warmup is { } w ? TimeSpan.FromSeconds(w >= 0 ? w : throw new ArgumentException($"--warmup-seconds: {w} is negative")) : settings.Warmup,
            Payload = payload is { } p ? Positive(p, "--payload") : settings.Payload,
            Batch = batch is { } b ? Positive(b, "--batch") : settings.Batch,
            InFlight = inFlight is { } f ? Positive(f, "--inflight") : settings.InFlight,
            ReferenceSeconds = reference is { } r ? (r > 0 ? r : throw new ArgumentException($"--reference-seconds: {r} is not positive")) : settings.ReferenceSeconds,
            TolerancePercent = tolerance is { } t ? (t >= 0 ? t : throw new ArgumentException($"--tolerance: {t} is negative")) : settings.TolerancePercent,
        };
        if (settings.Paths.Count == 0)
        {
            throw new ArgumentException("--paths names no transport");
        }

        if (settings.Payload < SoakSettings.MinPayload)
        {
            throw new ArgumentException($"--payload: {settings.Payload} is below {SoakSettings.MinPayload} (each value carries its batch id and index)");
        }

        if (settings.Duration < TimeSpan.FromSeconds(3))
        {
            throw new ArgumentException("--seconds: at least 3, so there is an RSS sample after the reference one");
        }

        ForkedRuntimeOptions.CheckExist(settings.Runtime, settings.Samples);

        return settings;
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new ArgumentException($"{option}: {value.ToString(CultureInfo.InvariantCulture)} is not a positive integer");

    [SupportedOSPlatform("linux")]
    private static async Task<int> RunAsync(SoakSettings settings, string? json, CancellationToken cancellationToken)
    {
        // As in jex bench: the member's socket completions run inline (it never blocks there), so
        // the member takes as little of the two cores as a lean member would.
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        var machine = Machine.Describe();
        await Console.Error.WriteLineAsync("jex soak: " + Machine.Line(machine)).ConfigureAwait(false);
        var results = await new SoakRunner(settings, Console.Error, Console.Out).RunAsync(cancellationToken).ConfigureAwait(false);

        if (json is not null)
        {
            machine["loadavg_end"] = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            SoakReport.WriteJson(results, settings, machine, json);
            await Console.Error.WriteLineAsync("jex soak: report written to " + json).ConfigureAwait(false);
        }

        return results.All(r => r.Verdict.Passed) ? 0 : 1;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Runtime.Versioning;
using Jex.Cli.Bench.Peer;

namespace Jex.Cli.Bench;

/// <summary>
/// <c>jex bench</c>: one workload through direct, shm, grpc-tcp and grpc-uds in one run (and,
/// with <c>--jetpy DIR</c>, through Hazelcast's Python peer). Prints a
/// table, writes JSON with <c>--json</c> and a page with charts with <c>--html</c> (also from an
/// earlier JSON report, <c>--from</c>, with no run). Exit code 0 when it ran (whatever the
/// numbers), 1 when a cell failed, 2 on bad arguments.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var runtime = ForkedRuntimeOptions.Runtime();
        var samples = ForkedRuntimeOptions.Samples("identity and burn1us functions");
        var json = new Option<string?>("--json") { HelpName = "FILE", Description = "Also write the report as JSON to this file." };
        var html = new Option<string?>("--html") { HelpName = "FILE", Description = "Also write the report as one self-contained HTML page with charts (no network needed to view it)." };
        var from = new Option<string?>("--from") { HelpName = "FILE.json", Description = "With --html: make the page from this earlier --json report instead of running the benchmark." };
        var quick = new Option<bool>("--quick") { Description = "Every path, 64 B, batch 1 and 256, identity, raw (and one compact cell); well under 90 s." };
        var paths = new Option<string?>("--paths") { HelpName = "LIST", Description = "Comma-separated subset of: " + string.Join(",", BenchSettings.AllPaths) };
        var payloads = new Option<string?>("--payloads") { HelpName = "LIST", Description = "Comma-separated payload sizes in bytes (default 64,1024,16384)." };
        var batches = new Option<string?>("--batches") { HelpName = "LIST", Description = "Comma-separated batch sizes (default 1,16,256)." };
        var inFlight = new Option<string?>("--inflight") { HelpName = "LIST", Description = "Comma-separated batches in flight (default 1,4)." };
        var functions = new Option<string?>("--functions") { HelpName = "LIST", Description = "Comma-separated functions (default identity,burn1us; over Compact they run as compactEcho, compactBurn1us)." };
        var formats = new Option<string?>("--formats") { HelpName = "LIST", Description = "Comma-separated subset of: " + string.Join(",", BenchSettings.AllFormats) + " (default both; quick: raw, plus compact at 256 x 4 in flight)." };
        var measureMs = new Option<int?>("--measure-ms") { HelpName = "MS", Description = "Length of each measured repeat (default 600, quick 400)." };
        var repeats = new Option<int?>("--repeats") { HelpName = "N", Description = "Measured repeats per cell (default 5, quick 3)." };
        var starts = new Option<int?>("--starts") { HelpName = "N", Description = "Runtime starts per path for fork-to-ready (default 10, quick 3)." };
        var startupOnly = new Option<bool>("--startup-only") { Description = "Measure fork-to-ready only, no load." };
        var shmWait = new Option<string?>("--shm-wait") { HelpName = "LIST", Description = "Comma-separated wait modes for the shm path, both sides: adaptive, spin, block; each runs as its own path (shm-spin, ...). Default: adaptive, as path shm." };
        var jetPy = new Option<string?>("--jetpy")
        {
            HelpName = "DIR",
            Description = "Also run Hazelcast Jet's Python user-code server (mapUsingPython) as the path jetpy, with identity over strings, at the same "
                + $"payloads, batches and in-flight counts. DIR must hold {string.Join(", ", JetPyFolder.RequiredFiles)} as Hazelcast ships them "
                + $"(the jet-python extension's resources); they run with {JetPyFolder.Python}, which needs grpcio. Jex does not include them.",
        };
        var noOrdering = new Option<bool>("--no-ordering-cells") { Description = "Leave out the key-ordering cells (identity at ordering key; async5ms at ordering batch and key)." };

        var command = new Command("bench", "Benchmark the paths from member to user function: direct, shm, grpc-tcp, grpc-uds.")
        {
            runtime, samples, json, html, from, quick, paths, payloads, batches, inFlight, functions, formats, measureMs, repeats, starts, startupOnly, noOrdering, shmWait, jetPy,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!ForkedRuntimeOptions.RunsHere("bench"))
            {
                return 2;
            }

            if (parse.GetValue(from) is { } earlier)
            {
                return await PageFromJsonAsync(earlier, parse.GetValue(html)).ConfigureAwait(false);
            }

            BenchSettings settings;
            try
            {
                settings = new BenchSettings
                {
                    Runtime = Path.GetFullPath(parse.GetValue(runtime)!),
                    Samples = Path.GetFullPath(parse.GetValue(samples)!),
                };
                if (parse.GetValue(quick))
                {
                    settings = BenchSettings.QuickFrom(settings);
                }

                settings = settings with
                {
                    Paths = Strings(parse.GetValue(paths), "--paths", BenchSettings.AllPaths) ?? settings.Paths,
                    Payloads = Ints(parse.GetValue(payloads), "--payloads") ?? settings.Payloads,
                    Batches = Ints(parse.GetValue(batches), "--batches") ?? settings.Batches,
                    InFlight = Ints(parse.GetValue(inFlight), "--inflight") ?? settings.InFlight,
                    Functions = Strings(parse.GetValue(functions), "--functions", null) ?? settings.Functions,
                    Formats = Strings(parse.GetValue(formats), "--formats", BenchSettings.AllFormats) ?? settings.Formats,
                    Measure = parse.GetValue(measureMs) is { } ms ? TimeSpan.FromMilliseconds(ms) : settings.Measure,
                    Repeats = parse.GetValue(repeats) ?? settings.Repeats,
                    Starts = parse.GetValue(starts) ?? settings.Starts,
                    StartupOnly = parse.GetValue(startupOnly),
                    OrderingCells = !parse.GetValue(noOrdering),
                    ShmWaits = Strings(parse.GetValue(shmWait), "--shm-wait", Jex.Transport.SharedMemory.WaitModes.Names),
                    JetPy = parse.GetValue(jetPy) is { } peer ? Path.GetFullPath(peer) : null,
                };
                ForkedRuntimeOptions.CheckExist(settings.Runtime, settings.Samples);
                if (settings.JetPy is { } folder && JetPyFolder.Problem(folder) is { } problem)
                {
                    throw new ArgumentException(problem);
                }
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync("jex bench: " + e.Message).ConfigureAwait(false);
                return 2;
            }

            return await RunAsync(settings, parse.GetValue(json), parse.GetValue(html), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> PageFromJsonAsync(string jsonReport, string? page)
    {
        if (page is null)
        {
            await Console.Error.WriteLineAsync($"jex bench: --from {jsonReport} makes a page: give it --html FILE").ConfigureAwait(false);
            return 2;
        }

        if (!File.Exists(jsonReport))
        {
            await Console.Error.WriteLineAsync($"jex bench: --from {jsonReport} does not exist (jex bench --json FILE writes one)").ConfigureAwait(false);
            return 2;
        }

        try
        {
            HtmlReport.Write(ReportReader.Read(jsonReport), page);
        }
        catch (InvalidDataException e)
        {
            await Console.Error.WriteLineAsync("jex bench: " + e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"jex bench: cannot write --html {page}: {e.Message}").ConfigureAwait(false);
            return 2;
        }

        await Console.Error.WriteLineAsync("jex bench: page written to " + page).ConfigureAwait(false);
        return 0;
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> RunAsync(BenchSettings settings, string? json, string? page, CancellationToken cancellationToken)
    {
        // The member side as lean as the runtime's: socket completions run on the I/O thread (read
        // once, when the first socket is used, so set before any). The bench's member never blocks there.
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        var report = await new BenchRunner(settings, Console.Error).RunAsync(cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteLineAsync(Report.Table(report)).ConfigureAwait(false);
        if (json is not null)
        {
            Report.WriteJson(report, settings, json);
            await Console.Error.WriteLineAsync("jex bench: report written to " + json).ConfigureAwait(false);
        }

        if (page is not null)
        {
            HtmlReport.Write(report, page);
            await Console.Error.WriteLineAsync("jex bench: page written to " + page).ConfigureAwait(false);
        }

        return report.Results.Any(r => r.Error is not null) ? 1 : 0;
    }

    private static int[]? Ints(string? text, string option) => text is null ? null : [.. Split(text).Select(s =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"{option}: '{s}' is not a positive integer"))];

    private static string[]? Strings(string? text, string option, IReadOnlyList<string>? known) => text is null ? null : [.. Split(text).Select(s =>
        known is null || known.Contains(s, StringComparer.Ordinal)
            ? s
            : throw new ArgumentException($"{option}: '{s}' is not one of {string.Join(", ", known)}"))];

    private static IEnumerable<string> Split(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

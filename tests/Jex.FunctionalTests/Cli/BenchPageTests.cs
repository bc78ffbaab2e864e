using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Jex.FunctionalTests.Member;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// jex bench --html renders in a real browser: Debian's headless Chromium loads the page from an
/// earlier JSON report, its script runs without error, and it draws one chart per path. Chromium
/// is a test dependency (tests/apt-packages.txt); where it is missing this fails and says so.
/// </summary>
public sealed partial class BenchPageTests
{
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(90);
    private static readonly string[] Paths = ["direct", "shm", "grpc-tcp", "grpc-uds"];

    private static string Chromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new Xunit.Sdk.XunitException("chromium is not installed: apt-get install chromium (./demo.sh deps installs what the tests need)");

    private static string[] Headless(string profile) =>
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", $"--user-data-dir={profile}"];

    // A report as jex bench --json writes it: four paths at batch 1, 16 and 256, each with fork-to-ready.
    private static string Report()
    {
        var results = new List<object>();
        foreach (var (path, i) in Paths.Select((p, i) => (p, i)))
        {
            foreach (var batch in new[] { 1, 16, 256 })
            {
                var eps = (i + 1) * 40_000.0 * batch;
                results.Add(new Dictionary<string, object?>
                {
                    ["transport"] = path, ["payload"] = 64, ["batch"] = batch, ["inflight"] = 4, ["function"] = "identity", ["format"] = "raw",
                    ["user_function"] = "identity", ["events_per_s"] = eps, ["events_per_s_min"] = eps * 0.9, ["events_per_s_max"] = eps * 1.1,
                    ["spread_pct"] = 20, ["mb_per_s"] = eps * 64 / 1e6, ["p50_us"] = 10.0 * (i + 1), ["p99_us"] = 40.0 * (i + 1), ["max_us"] = 90.0 * (i + 1),
                    ["fixed_rate_batches_per_s"] = eps / batch / 2, ["closed_p50_us"] = 8.0 * (i + 1), ["closed_p99_us"] = 30.0 * (i + 1), ["closed_max_us"] = 60.0 * (i + 1),
                    ["alloc_b_per_event"] = 10, ["cpu_us_per_event"] = 0.5, ["cpu_us_per_event_runtime"] = 0.3, ["cpu_us_per_event_member"] = 0.2,
                });
            }
        }

        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["machine"] = new Dictionary<string, string> { ["cpu"] = "test cpu", ["cores"] = "2" },
            ["startup_ms_p50"] = 90,
            ["startup"] = Paths.ToDictionary(p => p, p => new Dictionary<string, object> { ["p50_ms"] = 90, ["min_ms"] = 80, ["max_ms"] = 120, ["cpu_to_ready_p50_ms"] = 70, ["samples_ms"] = new[] { 80, 90, 120 } }),
            ["results"] = results,
            ["unavailable"] = new Dictionary<string, string>(),
            ["goals"] = Array.Empty<object>(),
            ["method"] = new Dictionary<string, object> { ["elapsed_s"] = 12.5 },
        });
    }

    [Fact]
    public async Task BenchHtml_FromAJsonReport_RendersInHeadlessChromiumWithOneChartPerPathAndNoScriptError()
    {
        using var dir = new TempDirectory("jex-bench-page");
        var json = dir.File("bench.json");
        await File.WriteAllTextAsync(json, Report());
        var page = dir.File("bench.html");
        var chromium = Chromium();

        var made = await JexCli.RunAsync(["bench", "--html", page, "--from", json], TimeSpan.FromSeconds(60));

        Assert.True(made.ExitCode == 0, made.ToString());
        Assert.Contains($"jex bench: page written to {page}", made.Stderr, StringComparison.Ordinal);
        var dom = await JexCli.StartAsync(chromium, [.. Headless(dir.File("profile-dom")), "--enable-logging=stderr", "--v=0", "--dump-dom", new Uri(page).AbsoluteUri], BrowserTimeout);
        Assert.True(dom.ExitCode == 0, dom.ToString());
        // The page's script sets data-check="ok" once it ran through and found every chart.
        Assert.Matches("<body data-check=\"ok\"", dom.Stdout);
        Assert.Equal(Paths, DataPath().Matches(dom.Stdout).Select(m => m.Groups[1].Value));
        Assert.DoesNotMatch(ConsoleError(), dom.Stderr);

        var png = dir.File("bench.png");
        var shot = await JexCli.StartAsync(chromium, [.. Headless(dir.File("profile-shot")), "--window-size=1280,2400", $"--screenshot={png}", new Uri(page).AbsoluteUri], BrowserTimeout);
        Assert.True(shot.ExitCode == 0, shot.ToString());
        var bytes = await File.ReadAllBytesAsync(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.True(bytes.Length > 20_000, string.Create(CultureInfo.InvariantCulture, $"the screenshot is {bytes.Length} bytes: a blank page?"));
    }

    [Fact]
    public async Task BenchFrom_WhenTheFileIsNotABenchReport_ExitsTwoNamingIt()
    {
        using var dir = new TempDirectory("jex-bench-page");
        var json = dir.File("other.json");
        await File.WriteAllTextAsync(json, """{"hello": "world"}""");

        var result = await JexCli.RunAsync(["bench", "--html", dir.File("x.html"), "--from", json], TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"jex bench: {json} is not a jex bench --json report (no 'startup'); make one with jex bench --json other.json", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.html")));
    }

    [GeneratedRegex("<svg [^>]*data-path=\"([^\"]+)\"")]
    private static partial Regex DataPath();

    // Chromium's log line for an uncaught error in a page script.
    [GeneratedRegex(@"CONSOLE\(\d+\)\].*(Uncaught|Error)")]
    private static partial Regex ConsoleError();
}

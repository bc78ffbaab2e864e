using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Jex.Cli.Bench;

namespace Jex.Cli.Tests.Bench;

[SupportedOSPlatform("linux")]
public sealed class HtmlReportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-html-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Two paths with cells at batch 1 and 256, one failed cell, one unavailable path, startups on three.</summary>
    internal static BenchReport Sample()
    {
        CellResult Ok(string path, int batch, int inFlight, double eps, double p50) => new(new Cell(path, 64, batch, inFlight, "identity", "raw"))
        {
            EventsPerSecond = eps,
            EventsPerSecondMin = eps * 0.95,
            EventsPerSecondMax = eps * 1.05,
            Latency = new Percentiles(p50, p50 * 4, p50 * 9, 100),
            ClosedLatency = new Percentiles(p50 * 0.75, p50 * 3, p50 * 5, 100),
            AllocatedBytesPerEvent = 12,
            RuntimeCpuUsPerEvent = 0.4,
            MemberCpuUsPerEvent = 0.2,
        };
        return new BenchReport(
            new Dictionary<string, string> { ["cpu"] = "Test <CPU>", ["cores"] = "2" },
            [
                new StartupResult("shm", [70, 80, 95], [60, 62, 64]),
                new StartupResult("grpc-tcp", [90, 110, 130], [80, 82, 84]),
                new StartupResult("grpc-uds", [], []),
            ],
            [
                Ok("shm", 1, 1, 120_000, 4),
                Ok("shm", 256, 4, 7_000_000, 40),
                Ok("grpc-tcp", 1, 1, 30_000, 60),
                Ok("grpc-tcp", 256, 4, 2_100_000, 300),
                new CellResult(new Cell("grpc-tcp", 64, 16, 4, "identity", "raw")) { Error = "TimeoutException: no result" },
            ],
            new Dictionary<string, string> { ["grpc-uds"] = "no socket support" },
            TimeSpan.FromSeconds(42));
    }

    [Fact]
    public void Render_DrawsOneThroughputChartPerPathWithOnePointPerSuccessfulCell()
    {
        var page = XDocument.Parse(Body(HtmlReport.Render(Sample())));

        var charts = page.Descendants().Where(e => e.Name.LocalName == "svg" && e.Attribute("data-path") is not null).ToList();
        Assert.Equal(["shm", "grpc-tcp"], charts.Select(c => c.Attribute("data-path")!.Value));
        Assert.All(charts, c => Assert.Equal(2, c.Descendants().Count(e => e.Name.LocalName == "circle")));
        var shmPoints = charts[0].Descendants().Where(e => e.Name.LocalName == "circle").Select(e => e.Element(e.Name.Namespace + "title")!.Value).ToList();
        Assert.Equal(["shm 64B x1 if1 identity raw: 120,000 events/s (±10%)", "shm 64B x256 if4 identity raw: 7,000,000 events/s (±10%)"], shmPoints);
    }

    [Fact]
    public void Render_HasTheLatencyAndStartupChartsTheGoalsAndEveryCell_WithTextEscaped()
    {
        var html = HtmlReport.Render(Sample());
        var page = XDocument.Parse(Body(html));

        var latency = page.Descendants().Single(e => e.Attribute("data-chart")?.Value == "latency");
        // Two paths with three bars each: p50 and p99 at a fixed rate, closed-loop p50.
        Assert.Equal(6, latency.Descendants().Count(e => e.Name.LocalName == "rect" && e.Element(e.Name.Namespace + "title") is not null));
        Assert.Contains(latency.Descendants(), e => e.Value == "shm p99, fixed rate: 16.0 µs (shm 64B x1 if1 identity raw)");
        var startup = page.Descendants().Single(e => e.Attribute("data-chart")?.Value == "startup");
        Assert.Equal(
            ["shm: p50 80.0 ms, min 70.0, max 95.0, 3 starts", "grpc-tcp: p50 110.0 ms, min 90.0, max 130.0, 3 starts"],
            startup.Descendants().Where(e => e.Name.LocalName == "title").Select(e => e.Value));
        var goals = page.Descendants().Single(e => e.Name.LocalName == "table" && e.Attribute("class")?.Value == "goals");
        Assert.Equal(Report.Goals(Sample()).Count() + 1, goals.Elements().Count());
        Assert.Contains(goals.Descendants(), e => e.Value == "met (grpc-tcp)");
        var cells = page.Descendants().Single(e => e.Name.LocalName == "table" && e.Attribute("class")?.Value == "cells");
        Assert.Equal(6, cells.Elements().Count());
        Assert.Contains("error: TimeoutException: no result", cells.Value, StringComparison.Ordinal);
        Assert.Contains("Test &lt;CPU&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<b>grpc-uds</b>: no socket support", html, StringComparison.Ordinal);
        Assert.Contains("var expected = 2;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_LoadsNothingFromOutside()
    {
        var html = HtmlReport.Render(Sample());

        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=|@import|url\(|https?://(?!www\.w3\.org/2000/svg)"), html);
    }

    [Fact]
    public void ReadThenRender_FromTheJsonReport_DrawsWhatTheReportItselfDraws()
    {
        var json = Path.Combine(_root, "bench.json");
        var report = Sample();
        Report.WriteJson(report, new BenchSettings { Runtime = "r", Samples = "s" }, json);

        var read = ReportReader.Read(json);

        Assert.Equal(report.Machine, read.Machine);
        Assert.Equal(report.Unavailable, read.Unavailable);
        Assert.Equal(report.Results.Select(r => (r.Cell, r.EventsPerSecond, r.Latency.P50, r.Latency.P99, r.ClosedLatency.P50, r.Error)),
            read.Results.Select(r => (r.Cell, r.EventsPerSecond, r.Latency.P50, r.Latency.P99, r.ClosedLatency.P50, r.Error)));
        Assert.Equal(report.Startup.Where(s => s.Milliseconds.Count > 0).Select(s => (s.Path, s.Median, s.CpuMedian)), read.Startup.Select(s => (s.Path, s.Median, s.CpuMedian)));
        Assert.Equal(Report.Goals(report), Report.Goals(read));
        Assert.Equal(HtmlReport.Render(report), HtmlReport.Render(read));
    }

    [Fact]
    public void Read_WhenTheFileIsNotABenchReport_SaysSoAndHowToMakeOne()
    {
        var path = Path.Combine(_root, "other.json");
        File.WriteAllText(path, """{"results": 3}""");

        var ex = Assert.Throws<InvalidDataException>(() => ReportReader.Read(path));

        Assert.Equal($"{path} is not a jex bench --json report (no 'startup'); make one with jex bench --json other.json", ex.Message);
    }

    // The page is HTML; from <body> to </body> minus the script it is well-formed XML, which LINQ to XML can query.
    private static string Body(string html)
    {
        var start = html.IndexOf("<body", StringComparison.Ordinal);
        var end = html.IndexOf("</body>", StringComparison.Ordinal) + "</body>".Length;
        var body = html[start..end];
        body = Regex.Replace(body, "<script>.*?</script>", "", RegexOptions.Singleline);
        return body.Replace("<br>", "<br/>", StringComparison.Ordinal).Replace("&nbsp;", " ", StringComparison.Ordinal);
    }
}

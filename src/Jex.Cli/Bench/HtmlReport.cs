using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Text;

namespace Jex.Cli.Bench;

/// <summary>
/// The report as one self-contained HTML page (<c>jex bench --html</c>): a chart of events/s by
/// batch size per path, the latency percentiles and fork-to-ready per path, the goals table and
/// every cell. Charts are SVG written here; the page loads nothing, and its one small script only
/// highlights a series from the legend and marks the page checked (<c>body[data-check]</c>), which
/// the headless-browser test reads.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class HtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly string[] Palette =
    [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    ];

    private const int Width = 760;
    private const int Height = 320;
    private const int Left = 70;
    private const int Right = 230;
    private const int Top = 20;
    private const int Bottom = 46;

    public static void Write(BenchReport report, string file) => File.WriteAllText(file, Render(report), new UTF8Encoding(false));

    /// <summary>The paths that get a throughput chart: every path with a cell, in the report's order.</summary>
    public static IReadOnlyList<string> ChartedPaths(BenchReport report) => [.. report.Results.Select(r => r.Cell.Path).Distinct(StringComparer.Ordinal)];

    public static string Render(BenchReport report)
    {
        var html = new StringBuilder();
        var paths = ChartedPaths(report);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>jex bench report</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
            h1 { margin-bottom: 4px; }
            table { border-collapse: collapse; margin: 8px 0 16px; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            td.met { background: #e6f4e6; } td.missed { background: #fbe3e3; } td.none { color: #888; }
            table.goals td:last-child { text-align: left; }
            figure { display: inline-block; margin: 0 16px 16px 0; vertical-align: top; }
            figcaption { font-weight: 600; }
            svg text { font: 11px system-ui, sans-serif; fill: #333; }
            svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #444; }
            svg .series.dim { opacity: 0.12; }
            svg .legend { cursor: pointer; }
            .note { color: #555; max-width: 980px; }
            </style>
            </head>
            <body data-check="pending">
            <h1>jex bench</h1>

            """);
        html.Append(Inv, $"<p class=\"note\">{Enc(string.Join(" · ", report.Machine.Select(m => $"{m.Key}: {m.Value}")))}<br>{report.Results.Count} cells on {paths.Count} path(s), {report.Elapsed.TotalSeconds:F0} s.</p>\n");

        html.Append("<h2>Goals</h2>\n<table class=\"goals\"><tr><th>goal</th><th>target</th><th>measured</th><th>status</th></tr>\n");
        foreach (var g in Report.Goals(report))
        {
            var cls = g.Measured is null ? "none" : g.Status.StartsWith("met", StringComparison.Ordinal) ? "met" : "missed";
            html.Append(Inv, $"<tr><td>{Enc(g.Name)}</td><td>{g.Target:#,0.##}</td><td>{(g.Measured is { } m ? m.ToString("#,0.##", Inv) : "n/a")}</td><td class=\"{cls}\">{Enc(g.Status)}</td></tr>\n");
        }

        html.Append("</table>\n");

        html.Append("<h2>Throughput by batch size</h2>\n<p class=\"note\">Events/s (median of the repeats, log scale) per batch size; one line per payload, batches in flight, function and format. Click a legend entry to pick out its line.</p>\n");
        foreach (var path in paths)
        {
            html.Append(Inv, $"<figure><figcaption>{Enc(path)}</figcaption>\n");
            Throughput(html, path, [.. report.Results.Where(r => r.Cell.Path == path)]);
            html.Append("</figure>\n");
        }

        html.Append("<h2>Latency per path</h2>\n<p class=\"note\">Round trip of one batch in µs (log scale): p50 and p99 at a fixed rate of half the cell's closed-loop throughput (coordinated omission corrected), and p50 under full closed-loop load. Each path's cell is its smallest batch and fewest in flight, at the smallest payload.</p>\n");
        Latency(html, report, paths);

        html.Append("<h2>Fork to ready per path</h2>\n<p class=\"note\">From fork to the runtime's ready line, in ms: the median bar, the whisker from the fastest to the slowest start.</p>\n");
        Startup(html, report);

        if (report.Unavailable.Count > 0)
        {
            html.Append("<h2>Unavailable paths</h2>\n<ul>\n");
            foreach (var (path, reason) in report.Unavailable)
            {
                html.Append(Inv, $"<li><b>{Enc(path)}</b>: {Enc(reason)}</li>\n");
            }

            html.Append("</ul>\n");
        }

        Cells(html, report);
        html.Append(Inv, $$"""
            <script>
            (function () {
              var errors = [];
              window.addEventListener('error', function (e) { errors.push(String(e.message)); document.body.setAttribute('data-check', 'error: ' + errors.join('; ')); });
              document.querySelectorAll('svg[data-path]').forEach(function (svg) {
                svg.querySelectorAll('.legend').forEach(function (entry) {
                  entry.addEventListener('click', function () {
                    var key = entry.getAttribute('data-series');
                    var already = entry.classList.toggle('picked');
                    svg.querySelectorAll('.legend').forEach(function (other) { if (other !== entry) other.classList.remove('picked'); });
                    svg.querySelectorAll('.series').forEach(function (s) { s.classList.toggle('dim', already && s.getAttribute('data-series') !== key); });
                  });
                });
              });
              var charts = document.querySelectorAll('svg[data-path]').length;
              var expected = {{paths.Count}};
              document.body.setAttribute('data-check', charts === expected && errors.length === 0 ? 'ok' : 'charts ' + charts + ' of ' + expected);
            })();
            </script>
            </body>
            </html>

            """);
        return html.ToString();
    }

    private static void Throughput(StringBuilder html, string path, List<CellResult> cells)
    {
        var ok = cells.Where(c => c.Error is null && c.EventsPerSecond > 0).ToList();
        var batches = cells.Select(c => c.Cell.Batch).Distinct().Order().ToList();
        OpenSvg(html, $"data-path=\"{Enc(path)}\" data-chart=\"throughput\"", $"{path}: events/s by batch size");
        if (ok.Count == 0)
        {
            html.Append(Inv, $"<text x=\"{Left}\" y=\"{Top + 20}\">no cell of this path succeeded (see the table below)</text>\n</svg>\n");
            return;
        }

        var scale = LogScale.Over(ok.Select(c => c.EventsPerSecond), Top, Height - Bottom);
        YAxis(html, scale, "events/s");
        double X(int batch) => batches.Count == 1
            ? Left + ((Width - Left - Right) / 2.0)
            : Left + 20 + (batches.IndexOf(batch) * (Width - Left - Right - 40) / (double)(batches.Count - 1));
        foreach (var batch in batches)
        {
            html.Append(Inv, $"<text x=\"{X(batch):F1}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{batch}</text>\n");
        }

        html.Append(Inv, $"<text x=\"{Left + ((Width - Left - Right) / 2)}\" y=\"{Height - 8}\" text-anchor=\"middle\">batch size (items)</text>\n");
        var series = ok.GroupBy(c => SeriesName(c.Cell)).ToList();
        for (var i = 0; i < series.Count; i++)
        {
            var color = Palette[i % Palette.Length];
            var dash = i >= Palette.Length ? " stroke-dasharray=\"5 3\"" : "";
            var points = series[i].OrderBy(c => c.Cell.Batch).ToList();
            var key = $"s{i}";
            html.Append(Inv, $"<g class=\"series\" data-series=\"{key}\">");
            html.Append(Inv, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{string.Join(" ", points.Select(p => string.Create(Inv, $"{X(p.Cell.Batch):F1},{scale.Y(p.EventsPerSecond):F1}")))}\"/>");
            foreach (var p in points)
            {
                html.Append(Inv, $"<circle cx=\"{X(p.Cell.Batch):F1}\" cy=\"{scale.Y(p.EventsPerSecond):F1}\" r=\"3.5\" fill=\"{color}\"><title>{Enc(p.Cell.ToString())}: {p.EventsPerSecond:N0} events/s (±{p.SpreadPercent:F0}%)</title></circle>");
            }

            html.Append("</g>\n");
            var ly = Top + 4 + (i * 16);
            html.Append(Inv, $"<g class=\"legend\" data-series=\"{key}\"><line x1=\"{Width - Right + 14}\" y1=\"{ly}\" x2=\"{Width - Right + 34}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{Width - Right + 40}\" y=\"{ly + 4}\">{Enc(series[i].Key)}</text></g>\n");
        }

        html.Append("</svg>\n");
    }

    private static string SeriesName(Cell cell) =>
        string.Create(Inv, $"{(cell.Payload >= 1024 ? $"{cell.Payload / 1024} KiB" : $"{cell.Payload} B")}, {cell.InFlight} in flight, {cell.Function}{(cell.Format == "raw" ? "" : ", " + cell.Format)}");

    /// <summary>Each path's latency cell: its smallest batch, fewest in flight, smallest payload, identity and raw first.</summary>
    internal static CellResult? LatencyCell(BenchReport report, string path) => report.Results
        .Where(r => r.Cell.Path == path && r.Error is null && !double.IsNaN(r.Latency.P50))
        .OrderBy(r => r.Cell.Batch).ThenBy(r => r.Cell.InFlight).ThenBy(r => r.Cell.Payload)
        .ThenBy(r => r.Cell.Function == "identity" ? 0 : 1).ThenBy(r => r.Cell.Format == "raw" ? 0 : 1)
        .FirstOrDefault();

    private static void Latency(StringBuilder html, BenchReport report, IReadOnlyList<string> paths)
    {
        var cells = paths.Select(p => (Path: p, Cell: LatencyCell(report, p))).Where(p => p.Cell is not null).ToList();
        OpenSvg(html, "data-chart=\"latency\"", "round trip percentiles per path");
        if (cells.Count == 0)
        {
            html.Append(Inv, $"<text x=\"{Left}\" y=\"{Top + 20}\">no latency was measured</text>\n</svg>\n");
            return;
        }

        (string Name, string Color, Func<CellResult, double> Value)[] bars =
        [
            ("p50, fixed rate", Palette[0], c => c.Latency.P50),
            ("p99, fixed rate", Palette[3], c => c.Latency.P99),
            ("p50, closed loop", Palette[2], c => c.ClosedLatency.P50),
        ];
        var scale = LogScale.Over(cells.SelectMany(c => bars.Select(b => b.Value(c.Cell!))).Where(v => v > 0), Top, Height - Bottom);
        YAxis(html, scale, "µs");
        var group = (Width - Left - Right) / (double)cells.Count;
        var barWidth = Math.Min(28, (group - 16) / bars.Length);
        for (var i = 0; i < cells.Count; i++)
        {
            var (path, cell) = cells[i];
            var x0 = Left + (i * group) + ((group - (barWidth * bars.Length)) / 2);
            for (var b = 0; b < bars.Length; b++)
            {
                var value = bars[b].Value(cell!);
                if (!(value > 0))
                {
                    continue;
                }

                var y = scale.Y(value);
                html.Append(Inv, $"<rect x=\"{x0 + (b * barWidth):F1}\" y=\"{y:F1}\" width=\"{barWidth - 2:F1}\" height=\"{Height - Bottom - y:F1}\" fill=\"{bars[b].Color}\"><title>{Enc(path)} {bars[b].Name}: {value:N1} µs ({Enc(cell!.Cell.ToString())})</title></rect>");
            }

            html.Append(Inv, $"<text x=\"{Left + (i * group) + (group / 2):F1}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{Enc(path)}</text>");
            html.Append(Inv, $"<text x=\"{Left + (i * group) + (group / 2):F1}\" y=\"{Height - Bottom + 30}\" text-anchor=\"middle\" fill=\"#777\">{cell!.Cell.Payload} B ×{cell.Cell.Batch}, {cell.Cell.InFlight} in flight</text>\n");
        }

        for (var b = 0; b < bars.Length; b++)
        {
            var ly = Top + 4 + (b * 16);
            html.Append(Inv, $"<rect x=\"{Width - Right + 14}\" y=\"{ly - 6}\" width=\"20\" height=\"10\" fill=\"{bars[b].Color}\"/><text x=\"{Width - Right + 40}\" y=\"{ly + 4}\">{bars[b].Name}</text>\n");
        }

        html.Append("</svg>\n");
    }

    private static void Startup(StringBuilder html, BenchReport report)
    {
        var starts = report.Startup.Where(s => s.Milliseconds.Count > 0).ToList();
        var height = Math.Max(80, 40 + (starts.Count * 34));
        html.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" data-chart=\"startup\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"fork to ready per path\">\n");
        if (starts.Count == 0)
        {
            html.Append(Inv, $"<text x=\"{Left}\" y=\"30\">no start was measured</text>\n</svg>\n");
            return;
        }

        var max = starts.Max(s => s.Milliseconds.Max());
        var step = NiceStep(max / 5);
        var top = Math.Ceiling(max / step) * step;
        var plot = Width - Left - Right;
        double X(double ms) => Left + (ms / top * plot);
        for (var t = 0.0; t <= top + (step / 2); t += step)
        {
            html.Append(Inv, $"<line class=\"grid\" x1=\"{X(t):F1}\" y1=\"10\" x2=\"{X(t):F1}\" y2=\"{height - 26}\"/><text x=\"{X(t):F1}\" y=\"{height - 12}\" text-anchor=\"middle\">{t:0.##}</text>\n");
        }

        html.Append(Inv, $"<text x=\"{Left + plot + 8}\" y=\"{height - 12}\">ms</text>\n");
        for (var i = 0; i < starts.Count; i++)
        {
            var s = starts[i];
            var y = 16 + (i * 34);
            var (min, hi) = (s.Milliseconds.Min(), s.Milliseconds.Max());
            html.Append(Inv, $"<text x=\"{Left - 8}\" y=\"{y + 14}\" text-anchor=\"end\">{Enc(s.Path)}</text>");
            html.Append(Inv, $"<rect x=\"{Left}\" y=\"{y + 2}\" width=\"{X(s.Median) - Left:F1}\" height=\"18\" fill=\"{Palette[0]}\"><title>{Enc(s.Path)}: p50 {s.Median:F1} ms, min {min:F1}, max {hi:F1}, {s.Milliseconds.Count} starts</title></rect>");
            html.Append(Inv, $"<line class=\"axis\" x1=\"{X(min):F1}\" y1=\"{y + 11}\" x2=\"{X(hi):F1}\" y2=\"{y + 11}\"/><line class=\"axis\" x1=\"{X(min):F1}\" y1=\"{y + 5}\" x2=\"{X(min):F1}\" y2=\"{y + 17}\"/><line class=\"axis\" x1=\"{X(hi):F1}\" y1=\"{y + 5}\" x2=\"{X(hi):F1}\" y2=\"{y + 17}\"/>");
            html.Append(Inv, $"<text x=\"{X(hi) + 6:F1}\" y=\"{y + 15}\">{s.Median:F0} ms</text>\n");
        }

        html.Append("</svg>\n");
    }

    private static void Cells(StringBuilder html, BenchReport report)
    {
        html.Append(Inv, $"<details><summary>All {report.Results.Count} cells</summary>\n<table class=\"cells\"><tr><th>path</th><th>payload</th><th>batch</th><th>in flight</th><th>function</th><th>format</th><th>events/s</th><th>spread</th><th>p50 µs</th><th>p99 µs</th><th>closed p50 µs</th><th>alloc B/event</th><th>CPU µs/event</th></tr>\n");
        foreach (var r in report.Results)
        {
            var c = r.Cell;
            html.Append(Inv, $"<tr><td>{Enc(c.Path)}</td><td>{c.Payload}</td><td>{c.Batch}</td><td>{c.InFlight}</td><td>{Enc(c.Function)}</td><td>{Enc(c.Format)}</td>");
            html.Append(r.Error is not null
                ? $"<td colspan=\"7\">error: {Enc(r.Error)}</td></tr>\n"
                : string.Create(Inv, $"<td>{r.EventsPerSecond:N0}</td><td>±{r.SpreadPercent:F0}%{(double.IsFinite(r.SpreadIqrPercent) ? $" (IQR ±{r.SpreadIqrPercent:F0}%)" : "")}</td><td>{r.Latency.P50:N1}</td><td>{r.Latency.P99:N1}</td><td>{r.ClosedLatency.P50:N1}</td><td>{r.AllocatedBytesPerEvent:N0}</td><td>{r.CpuUsPerEvent:F2}</td></tr>\n"));
        }

        html.Append("</table></details>\n");
    }

    private static void OpenSvg(StringBuilder html, string attributes, string label) =>
        html.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" {attributes} width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Enc(label)}\">\n");

    private static void YAxis(StringBuilder html, LogScale scale, string unit)
    {
        foreach (var tick in scale.Ticks())
        {
            var y = scale.Y(tick);
            html.Append(Inv, $"<line class=\"grid\" x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\"/><text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Short(tick)}</text>\n");
        }

        html.Append(Inv, $"<line class=\"axis\" x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\"/><line class=\"axis\" x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\"/>\n");
        html.Append(Inv, $"<text x=\"14\" y=\"{(Top + Height - Bottom) / 2}\" transform=\"rotate(-90 14 {(Top + Height - Bottom) / 2})\" text-anchor=\"middle\">{Enc(unit)}</text>\n");
    }

    private static string Short(double v) => v switch
    {
        >= 1e9 => string.Create(Inv, $"{v / 1e9:0.#}G"),
        >= 1e6 => string.Create(Inv, $"{v / 1e6:0.#}M"),
        >= 1e3 => string.Create(Inv, $"{v / 1e3:0.#}k"),
        _ => v.ToString("0.##", Inv),
    };

    private static double NiceStep(double raw)
    {
        if (!(raw > 0))
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var f = raw / magnitude;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
    }

    private static string Enc(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A base-10 log scale from whole decades around the values to pixel rows (top is larger).</summary>
    private sealed record LogScale(double MinDecade, double MaxDecade, double PixelTop, double PixelBottom)
    {
        public static LogScale Over(IEnumerable<double> values, double top, double bottom)
        {
            var logs = values.Where(v => v > 0).Select(Math.Log10).DefaultIfEmpty(0).ToList();
            var lo = Math.Floor(logs.Min());
            var hi = Math.Ceiling(logs.Max());
            return new LogScale(lo, hi > lo ? hi : lo + 1, top, bottom);
        }

        public double Y(double value) =>
            PixelBottom - ((Math.Log10(value) - MinDecade) / (MaxDecade - MinDecade) * (PixelBottom - PixelTop));

        public IEnumerable<double> Ticks()
        {
            for (var d = MinDecade; d <= MaxDecade; d++)
            {
                yield return Math.Pow(10, d);
            }
        }
    }
}

using System.Runtime.Versioning;
using System.Text.Json;
using Jex.Cli.Soak;

namespace Jex.Cli.Tests.Soak;

[SupportedOSPlatform("linux")]
public sealed class SoakReportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-soak-report-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void WriteJson_WritesTheMachineAsAnObjectInItsOrder()
    {
        var path = Path.Combine(_root, "soak.json");
        var machine = new Dictionary<string, string> { ["cpu"] = "Test CPU", ["loadavg_end"] = "0.10 0.20 0.30" };

        SoakReport.WriteJson([], new SoakSettings { Runtime = "r", Samples = "s" }, machine, path);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("pass", doc.RootElement.GetProperty("verdict").GetString());
        Assert.Equal(
            [("cpu", "Test CPU"), ("loadavg_end", "0.10 0.20 0.30")],
            doc.RootElement.GetProperty("machine").EnumerateObject().Select(p => (p.Name, p.Value.GetString())));
    }
}

using System.Runtime.Versioning;
using System.Text.Json;
using Jex.Cli.Bench;

namespace Jex.Cli.Tests.Bench;

[SupportedOSPlatform("linux")]
public sealed class ReportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-report-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void WriteJson_WritesTheMachineAndTheUnavailablePathsAsObjectsInTheirOrder()
    {
        var path = Path.Combine(_root, "bench.json");
        var machine = new Dictionary<string, string> { ["cpu"] = "Test CPU", ["cores"] = "2" };
        var unavailable = new Dictionary<string, string> { ["shm"] = "no /dev/shm" };
        var report = new BenchReport(machine, [], [], unavailable, TimeSpan.FromSeconds(1));

        Report.WriteJson(report, new BenchSettings { Runtime = "r", Samples = "s" }, path);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(
            [("cpu", "Test CPU"), ("cores", "2")],
            doc.RootElement.GetProperty("machine").EnumerateObject().Select(p => (p.Name, p.Value.GetString())));
        Assert.Equal(
            [("shm", "no /dev/shm")],
            doc.RootElement.GetProperty("unavailable").EnumerateObject().Select(p => (p.Name, p.Value.GetString())));
    }
}

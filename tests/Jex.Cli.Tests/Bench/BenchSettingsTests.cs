using System.Runtime.Versioning;
using Jex.Cli.Bench;

namespace Jex.Cli.Tests.Bench;

[SupportedOSPlatform("linux")]
public sealed class BenchSettingsTests
{
    private static readonly BenchSettings Base = new() { Runtime = "r", Samples = "s", Paths = ["direct", "shm", "grpc-uds"] };

    [Fact]
    public void RunPaths_WithoutShmWaits_AreThePathsAsGiven()
    {
        Assert.Equal(["direct", "shm", "grpc-uds"], Base.RunPaths);
    }

    [Fact]
    public void RunPaths_WithShmWaits_RunShmOncePerModeInItsPlace()
    {
        var settings = Base with { ShmWaits = ["spin", "adaptive", "block"] };
        Assert.Equal(["direct", "shm-spin", "shm-adaptive", "shm-block", "grpc-uds"], settings.RunPaths);
    }

    [Theory]
    [InlineData("shm-adaptive")]
    [InlineData("shm-spin")]
    [InlineData("shm-block")]
    public async Task Create_ShmWithAMode_IsAForkedPathOfThatName(string name)
    {
        await using var path = BenchPath.Create(name, Base);
        Assert.IsType<ForkedPath>(path);
        Assert.Equal(name, path.Name);
        Assert.True(path.IsForked);
    }

    [Fact]
    public void Create_ShmWithAnUnknownMode_NamesThePathAndTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => BenchPath.Create("shm-busy", Base));
        Assert.Contains("unknown path 'shm-busy'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Goals_WithShmRunPerMode_JudgeTheFirstModeGiven()
    {
        CellResult Ok(string path, double eps) => new(new Cell(path, 64, 256, 4, "identity", "raw"))
        {
            EventsPerSecond = eps,
            EventsPerSecondMin = eps,
            EventsPerSecondMax = eps,
        };
        var report = new BenchReport(new Dictionary<string, string>(), [], [Ok("shm-block", 7_000_000), Ok("shm-spin", 1_000_000)], new Dictionary<string, string>(), TimeSpan.FromSeconds(1));

        var goal = Assert.Single(Report.Goals(report), g => g.Name == "shm 256x64 B, 4 in flight (events/s)");

        Assert.Equal(7_000_000, goal.Measured);
        Assert.Equal("met (shm-block)", goal.Status);
    }

    [Fact]
    public void RunPaths_WithJetPy_EndWithThePeer()
    {
        Assert.Equal(["direct", "shm", "grpc-uds", "jetpy"], (Base with { JetPy = "/peer" }).RunPaths);
    }

    [Fact]
    public void PeerCells_InQuickMode_AreIdentityRawAtTheJexPathsBatchesAndInFlight()
    {
        var quick = BenchSettings.QuickFrom(Base with { JetPy = "/peer" });

        Assert.Equal(
            [new Cell("jetpy", 64, 1, 1, "identity", "raw"), new Cell("jetpy", 64, 1, 4, "identity", "raw"), new Cell("jetpy", 64, 256, 4, "identity", "raw")],
            quick.PeerCells());
        Assert.Equal(quick.Cells("grpc-uds").Where(c => c.Format == "raw").Select(c => (c.Batch, c.InFlight)), quick.PeerCells().Select(c => (c.Batch, c.InFlight)));
        Assert.Empty(quick.OrderingCellsFor("jetpy"));
        // Quick mode's slow async5ms pair stays on the last Jex path.
        Assert.Contains(quick.OrderingCellsFor("grpc-uds"), c => c.Function == BenchSettings.Async5Ms);
    }

    [Fact]
    public void PeerCells_WithBurn1usOnly_StillRunIdentity()
    {
        var settings = Base with { JetPy = "/peer", Functions = ["burn1us"], Payloads = [64], Batches = [16], InFlight = [4] };

        Assert.Equal([new Cell("jetpy", 64, 16, 4, "identity", "raw")], settings.PeerCells());
    }
}

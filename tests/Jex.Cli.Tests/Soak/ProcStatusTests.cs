using Jex.Cli.Soak;

namespace Jex.Cli.Tests.Soak;

public sealed class ProcStatusTests
{
    [Fact]
    public void ParseRss_OfAStatusFile_IsTheVmRssLineInBytes()
    {
        const string status = "Name:\tjex-runtime\nVmPeak:\t  999999 kB\nVmHWM:\t  150000 kB\nVmRSS:\t   81234 kB\nRssAnon:\t   40000 kB\n";

        Assert.Equal(81234L * 1024, ProcStatus.ParseRss(status));
    }

    [Fact]
    public void ParseRss_WithoutAVmRssLine_IsNull() =>
        Assert.Null(ProcStatus.ParseRss("Name:\tzombie\nState:\tZ (zombie)\n"));

    [Fact]
    public void RssBytes_OfThisProcess_IsWhatItsStatusFileSays()
    {
        var rss = ProcStatus.RssBytes(Environment.ProcessId);

        Assert.NotNull(rss);
        Assert.InRange(rss.Value, 1L << 20, 64L << 30);
    }

    [Fact]
    public void RssBytes_OfAProcessThatIsGone_IsNull() =>
        Assert.Null(ProcStatus.RssBytes(int.MaxValue));
}

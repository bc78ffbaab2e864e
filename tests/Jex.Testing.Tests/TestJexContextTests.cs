using System.Text;
using Jex.Samples;
using Microsoft.Extensions.Logging;

namespace Jex.Testing.Tests;

public sealed class TestJexContextTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task InvokeAsync_CapturesWhatTheFunctionLogs_WithTheRuntimesCategory()
    {
        var f = JexFunction.Load<SomeThing>("logAndEcho");
        var context = new TestJexContext { Partition = 5 };

        await f.InvokeAsync(JexInput.Text("hello"), context).WaitAsync(Timeout);

        var log = Assert.Single(context.Logs);
        Assert.Equal(LogLevel.Information, log.Level);
        Assert.Equal("UserCode.logAndEcho", log.Category);
        Assert.Equal("processing hello from partition 5", log.Message);
        Assert.Null(log.Exception);
    }

    [Fact]
    public async Task InvokeAsync_GivesTheFunctionTheContextsNamesPartitionSequenceAndKey()
    {
        var f = JexFunction.Load<SomeThing>("describe");
        var context = new TestJexContext { JobName = "orders", StageName = "enrich", BatchId = 9, Partition = 3, Sequence = 40 };

        var results = await f.InvokeManyAsync([JexInput.Text("a").WithKey("k-a"), JexInput.Text("b").WithKey("k-b")], context).WaitAsync(Timeout);

        Assert.Equal("orders/enrich/describe batch=9 partition=3 seq=40 key=k-a value=a", Assert.Single(results[0].Texts));
        Assert.Equal("orders/enrich/describe batch=9 partition=3 seq=41 key=k-b value=b", Assert.Single(results[1].Texts));
    }

    [Fact]
    public async Task InvokeAsync_PassesSettingsToTheFunction()
    {
        var f = JexFunction.Load<SomeThing>("countCalls");
        var counter = Path.Combine(Path.GetTempPath(), "jex-counter-" + Guid.NewGuid().ToString("N"));
        var context = new TestJexContext { Settings = { ["counter-file"] = counter } };
        try
        {
            await f.InvokeManyAsync([JexInput.Text("a"), JexInput.Text("b")], context).WaitAsync(Timeout);

            Assert.Equal("2", File.ReadAllText(counter));
        }
        finally
        {
            File.Delete(counter);
        }
    }

    [Fact]
    public async Task InvokeAsync_CancelledToken_FailsTheItemsWithCancelled()
    {
        var f = JexFunction.Load<SomeThing>("sleepy");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var context = new TestJexContext { CancellationToken = cts.Token };

        var results = await f.InvokeManyAsync([JexInput.Text("sleep:20000"), JexInput.Text("now")], context).WaitAsync(Timeout);

        Assert.All(results, r => Assert.Equal(JexErrorCode.Cancelled, r.Error?.Code));
    }

    [Fact]
    public void Logger_UsedDirectly_CapturesLevelMessageAndException()
    {
        var context = new TestJexContext();
        var boom = new InvalidOperationException("boom");

        var result = TestFunctions.LogAndEcho("direct", context);
        context.Logger.LogError(boom, "failed {Count} times", 2);

        Assert.Equal("direct", result);
        Assert.Collection(context.Logs,
            l => Assert.Equal((LogLevel.Information, "processing direct from partition 0"), (l.Level, l.Message)),
            l =>
            {
                Assert.Equal((LogLevel.Error, "failed 2 times"), (l.Level, l.Message));
                Assert.Same(boom, l.Exception);
            });
        context.ClearLogs();
        Assert.Empty(context.Logs);
    }

    [Fact]
    public void Context_UsedDirectly_ServesSettingsAndKey()
    {
        var context = new TestJexContext { Settings = { ["counter-file"] = "x" }, RawKey = Encoding.UTF8.GetBytes("k") };
        Jex.UserCode.IJexContext view = context;

        Assert.Equal("x", view.Settings["counter-file"]);
        Assert.Equal("k", Encoding.UTF8.GetString(view.RawKey.Span));
        Assert.Equal("test/test-stage/ batch=1 partition=0 seq=0 key=k value=v", TestFunctions.Describe("v", context));
    }
}

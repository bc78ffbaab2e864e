using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Testing.Shared;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>The dispatcher under calls that overstay: abandoned, stuck and blocking calls.</summary>
public sealed partial class SessionProcessorTests
{
    [Fact]
    public async Task AbandonedCallsOverTheSessionLimit_MakeNewBatchesFailOverloadedUntilTheyEnd()
    {
        // The deadline must pass while the call runs, not before it starts (a loaded machine can
        // take longer than a few ms to start it): long enough for that, short enough for a test.
        await InitAsync(nameof(Functions.Gated));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = new Batch { Id = 1, DeadlineMs = 1000, Items = { new Item { Value = ByteString.CopyFromUtf8("a") } } } });
        var first = (await ReadAsync()).Result;
        Assert.Equal(ItemError.Types.Code.DeadlineExceeded, first.Results[0].Error.Code);

        // The call is counted as abandoned by the batch that gave up on it, which may finish writing
        // its result first: wait for the count rather than assume it.
        await Wait.UntilAsync(() => _processor.AbandonedCalls >= 1, Timeout, "the abandoned call being counted");
        Assert.Equal(1, _processor.AbandonedCalls);

        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(2, "b", "c") });
        var refused = (await ReadAsync()).Result;
        Assert.Equal(ItemError.Types.Code.Overloaded, refused.Error.Code);
        Assert.Contains("UserCode:MaxAbandonedCallsPerSession=1", refused.Error.Message, StringComparison.Ordinal);

        Functions.Gate.SetResult();
        await Wait.UntilAsync(() => _processor.AbandonedCalls == 0, Timeout, "the abandoned call ending");
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(3, "d") });
        Assert.Equal("d", (await ReadAsync()).Result.Results[0].Ok.Outputs_[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task ASynchronousCallStuckPastItsDeadline_IsReportedAndHealthGoesNotServing()
    {
        await InitAsync(nameof(Functions.Blocking));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = new Batch { Id = 1, DeadlineMs = 10, Items = { new Item { Value = ByteString.CopyFromUtf8("block") } } } });
        await Functions.Entered.Task.WaitAsync(Timeout);
        var health = new RuntimeHealthCheck(_processor);

        await Wait.UntilAsync(() => _processor.StuckCalls != 0, _processor.CheckStuck, Timeout, "the watchdog reporting the stuck call");
        Assert.Equal(1, _processor.StuckCalls);
        var report = await health.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, report.Status);

        // Ping is answered meanwhile, the call ends, and health comes back.
        await _in.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 1 } });
        Assert.Equal(1UL, (await ReadAsync()).Pong.Nonce);
        Functions.SyncGate.Set();
        Assert.NotNull((await ReadAsync()).Result);

        // The batch finishes just after its result is sent, and the watchdog also checks on its own.
        await Wait.UntilAsync(() => _processor.StuckCalls == 0, _processor.CheckStuck, Timeout, "the stuck count going back to 0");
        report = await health.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, report.Status);
    }

    [Fact]
    public async Task AFastFunctionThatSuddenlyBlocksTheReadingThread_DoesNotStallPingOrCancel()
    {
        await InitAsync(nameof(Functions.Blocking));
        // Fast batches first, so the next ones run inline on the reading thread.
        for (ulong id = 1; id <= 3; id++)
        {
            await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(id, "fast") });
            Assert.Equal(id, (await ReadAsync()).Result.BatchId);
        }

        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(4, "block") });
        await Functions.Entered.Task.WaitAsync(Timeout);
        await _in.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 77 } });
        Assert.Equal(77UL, (await ReadAsync()).Pong.Nonce);
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(5, "fast") });
        Assert.Equal(5UL, (await ReadAsync()).Result.BatchId);

        Functions.SyncGate.Set();
        Assert.Equal(4UL, (await ReadAsync()).Result.BatchId);
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(6, "fast") });
        Assert.Equal(6UL, (await ReadAsync()).Result.BatchId);
    }
}

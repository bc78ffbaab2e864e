using Google.Protobuf;
using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// A hostile or broken member against a real runtime over gRPC (issue #11). Each test asserts what
/// the member gets (status, error code), the runtime's log line, that a well-behaved session on the
/// same runtime is served meanwhile, and where it matters the memory bound, as RSS from /proc.
/// </summary>
public sealed class SessionHostileTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    private async Task WithRuntime(Func<RuntimeProcess, Task> body, params string[] extra)
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0", .. extra]);
        try
        {
            await body(runtime);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    /// <summary>A member that plays by the rules gets its results from the same runtime.</summary>
    private static async Task AssertWellBehavedSessionWorks(RuntimeProcess runtime)
    {
        await using var good = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await good.OpenAsync(TestSession.InitFor("identity"));
        var results = await good.RunAsync([TestSession.MakeBatch(1, ["a", "b"]), TestSession.MakeBatch(2, ["c"])], 2);
        Assert.Equal("c", TestSession.Text(Assert.Single(results[2].Results).Ok.Outputs_[0].Value));
        await good.DrainAsync();
    }

    /// <summary>Peak RSS while <paramref name="attack"/> runs, sampled every 20 ms, minus RSS before.</summary>
    private static async Task<long> RssRiseDuring(RuntimeProcess runtime, Func<Task> attack)
    {
        var before = ProcessStatus.RssBytes(runtime.Pid);
        var peak = before;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, ProcessStatus.RssBytes(runtime.Pid));
                await Task.Delay(20, CancellationToken.None);
            }
        });
        try
        {
            await attack();
        }
        finally
        {
            await stop.CancelAsync();
            await sampler.WaitAsync(TimeSpan.FromSeconds(10));
        }

        peak = Math.Max(peak, ProcessStatus.RssBytes(runtime.Pid));
        return peak - before;
    }

    private static async Task WaitForLog(RuntimeProcess runtime, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!runtime.Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the runtime never logged '{text}'");
            }

            await Task.Delay(20);
        }
    }

    // Row 1 and 7: eight 20 MiB non-Init first messages at once cost less than 64 MiB of RSS.
    [Fact]
    public Task NonInitFirstMessages_EightOf20MiBAtOnce_AreRefusedUnreadAndRssRisesLessThan64MiB() =>
        WithRuntime(async runtime =>
        {
            await AssertWellBehavedSessionWorks(runtime);
            var message = SessionRawGrpc.EmptyItemsBatchMessage(10 * 1024 * 1024, out _);
            SessionRawGrpc.Outcome[] outcomes = [];
            var rise = await RssRiseDuring(runtime, async () =>
            {
                outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
                    SessionRawGrpc.CallAsync(runtime.Address, s => s.WriteAsync(message).AsTask(), CallTimeout)));
                await AssertWellBehavedSessionWorks(runtime);
            });

            Assert.All(outcomes, o =>
            {
                Assert.Equal(9, o.Status);
                Assert.Contains("must be Init, not Batch", o.Message, StringComparison.Ordinal);
            });
            Assert.True(rise < 64 * MiB, $"RSS rose {rise / MiB} MiB");
            await WaitForLog(runtime, "gRPC call refused: FailedPrecondition: the first message of a session must be Init, not Batch");
        });

    // Row 7: an Init-looking first message larger than UserCode:MaxInitBytes is refused before it is buffered.
    [Fact]
    public Task AnInitLargerThanMaxInitBytes_IsRefusedWithResourceExhaustedBeforeItIsRead() =>
        WithRuntime(async runtime =>
        {
            var rise = await RssRiseDuring(runtime, async () =>
            {
                var outcome = await SessionRawGrpc.CallAsync(runtime.Address, async s =>
                {
                    await s.WriteAsync(SessionRawGrpc.Header(30 * 1024 * 1024));
                    await s.WriteAsync(new byte[] { 0x0A, 0x80, 0x80, 0x80, 0x0F });
                    await s.WriteAsync(new byte[30 * 1024 * 1024]);
                }, CallTimeout);
                Assert.Equal(8, outcome.Status);
                Assert.Contains("UserCode:MaxInitBytes", outcome.Message, StringComparison.Ordinal);
            });

            Assert.True(rise < 64 * MiB, $"RSS rose {rise / MiB} MiB");
            await WaitForLog(runtime, "gRPC call refused: ResourceExhausted");
            await AssertWellBehavedSessionWorks(runtime);
        });

    // Row 7: no Init within UserCode:InitTimeoutSeconds ends the call with DEADLINE_EXCEEDED.
    [Fact]
    public Task ASessionThatNeverSendsInit_EndsWithDeadlineExceededAfterInitTimeout() =>
        WithRuntime(async runtime =>
        {
            var silent = SessionRawGrpc.CallAsync(runtime.Address, _ => Task.CompletedTask, CallTimeout);
            await AssertWellBehavedSessionWorks(runtime);
            var outcome = await silent;
            Assert.Equal(4, outcome.Status);
            Assert.Contains("UserCode:InitTimeoutSeconds", outcome.Message, StringComparison.Ordinal);
            await WaitForLog(runtime, "refused: DeadlineExceeded: no Init within 1 s");
        }, "--UserCode:InitTimeoutSeconds=1");

    // Row 7: a session over UserCode:MaxSessions is refused with RESOURCE_EXHAUSTED; closing one frees a place.
    [Fact]
    public Task SessionsOverMaxSessions_AreRefusedWithResourceExhausted() =>
        WithRuntime(async runtime =>
        {
            await using var first = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await first.OpenAsync(TestSession.InitFor("identity"));
            await using var second = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await second.OpenAsync(TestSession.InitFor("identity"));

            await using var third = new TestSession(GrpcTestChannel.Open(runtime.Address));
            var refused = await Assert.ThrowsAsync<SessionEndedException>(() => third.OpenAsync(TestSession.InitFor("identity")));
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("UserCode:MaxSessions", refused.Message, StringComparison.Ordinal);
            await WaitForLog(runtime, "refused: ResourceExhausted");

            Assert.Single((await first.RunAsync([TestSession.MakeBatch(1, ["x"])], 1))[1].Results);
            await first.DrainAsync();
            await WaitForLog(runtime, "ended: 1 batches");
            await AssertWellBehavedSessionWorks(runtime);
        }, "--UserCode:MaxSessions=2");

    // Row 10: a length prefix over 2 GiB after Init ends the call with a non-OK status and a log line.
    [Fact]
    public Task ALengthPrefixOver2GiB_EndsTheCallWithAStatusAndALogLine() =>
        WithRuntime(async runtime =>
        {
            var init = new MemberMessage { Init = TestSession.InitFor("identity") }.ToByteArray();
            var outcome = await SessionRawGrpc.CallAsync(runtime.Address, async s =>
            {
                await s.WriteAsync(SessionRawGrpc.Header((uint)init.Length));
                await s.WriteAsync(init);
                await s.WriteAsync(SessionRawGrpc.Header(0xFFFF_FFF0));
                await s.WriteAsync(new byte[] { 0x1A, 0x00 });
            }, CallTimeout);

            Assert.NotEqual(0, outcome.Status);
            Assert.Contains("refused", outcome.Message, StringComparison.Ordinal);
            await WaitForLog(runtime, "gRPC call refused:");
            await AssertWellBehavedSessionWorks(runtime);
        });

    // Row 4: an oversized batch gets one batch-level error; 8 MiB of empty items raise RSS by less than 64 MiB.
    [Fact]
    public Task AnOversizedBatch_GetsOneSmallBatchLevelErrorAndRssStaysBounded() =>
        WithRuntime(async runtime =>
        {
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            var init = TestSession.InitFor("identity");
            init.MaxBatchBytes = 1024 * 1024;
            var ready = await session.OpenAsync(init);
            Assert.Equal(1024U * 1024, ready.Limits.MaxBatchBytes);

            var huge = new Batch { Id = 1 };
            for (var i = 0; i < 4 * 1024 * 1024; i++)
            {
                huge.Items.Add(new Item());
            }

            RuntimeMessage? reply = null;
            var rise = await RssRiseDuring(runtime, async () =>
            {
                await session.SendAsync(new MemberMessage { Batch = huge });
                reply = await session.ReadAsync();
            });

            Assert.NotNull(reply);
            Assert.Equal(ItemError.Types.Code.BatchTooLarge, reply!.Result.Error.Code);
            Assert.Empty(reply.Result.Results);
            Assert.True(reply.CalculateSize() < 1024, $"{reply.CalculateSize()} bytes");
            Assert.True(rise < 64 * MiB, $"RSS rose {rise / MiB} MiB");
            await WaitForLog(runtime, "batch 1 refused (BatchTooLarge), 4194304 item(s) failed");

            Assert.Single((await session.RunAsync([TestSession.MakeBatch(2, ["ok"])], 1))[2].Results);
            await AssertWellBehavedSessionWorks(runtime);
        });

    // Row 9: outputs over the message limit fail that item with RESULT_TOO_LARGE and a Warning; the rest arrive.
    [Fact]
    public Task OutputsOverTheMessageLimit_FailThatItemWithResultTooLargeAndAWarning() =>
        WithRuntime(async runtime =>
        {
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await session.OpenAsync(TestSession.InitFor("explode"));
            var batch = TestSession.MakeBatch(1, ["a,b", "", "c"]);
            batch.Items[1].Key = ByteString.CopyFromUtf8("k");
            batch.Items[1].Value = ByteString.CopyFromUtf8(string.Join(',', Enumerable.Repeat("x", 10_000)));
            var results = await session.RunAsync([batch], 1);

            var items = results[1].Results;
            Assert.Equal(2, items[0].Ok.Outputs_.Count);
            Assert.Equal(ItemError.Types.Code.ResultTooLarge, items[1].Error.Code);
            Assert.Equal("c", TestSession.Text(items[2].Ok.Outputs_[0].Value));
            await WaitForLog(runtime, "WRN] Jex.Runtime.Session: Session 1: 1 item(s) of batch 1 (explode) failed with RESULT_TOO_LARGE");
            await AssertWellBehavedSessionWorks(runtime);
        }, "--UserCode:MaxMessageBytes=65536", "--UserCode:MaxBatchBytes=32768", "--UserCode:MaxInitBytes=4096");

    // Rows 5 and 15: a member that sends far more than it may and never reads: extra batches are
    // refused, Ping is read and answered, and results held stay within in-flight + 1.
    [Fact]
    public Task AMemberThatNeverReads_GetsExtraBatchesRefusedAndRssStaysWithinTheInFlightBound() =>
        WithRuntime(async runtime =>
        {
            await AssertWellBehavedSessionWorks(runtime);
            var value = new string('v', 1024 * 1024 - 64);
            var rise = await RssRiseDuring(runtime, async () =>
            {
                await using var hog = new TestSession(GrpcTestChannel.Open(runtime.Address));
                var init = TestSession.InitFor("identity");
                init.MaxInFlight = 4;
                await hog.OpenAsync(init);
                for (ulong id = 1; id <= 272; id++)
                {
                    // Long enough that only flow control, not a busy machine's slow send of 1 MiB, ends the loop early.
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    try
                    {
                        await hog.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(id, [value]) }).WaitAsync(cts.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // Flow control stopped the sender: the runtime's queue toward it is full.
                        break;
                    }
                }

                await WaitForLog(runtime, "protocol error TooManyInFlight");
                await AssertWellBehavedSessionWorks(runtime);
            });

            // 4 in flight + 1 being written, 1 MiB in and 1 MiB out each, plus HTTP/2 windows (24 MiB).
            Assert.True(rise < 96 * MiB, $"RSS rose {rise / MiB} MiB");
        });

    // Rows 14, 15: Ping and Cancel are served while batches run; a batch over max_in_flight is refused; after Drain a late batch gets BATCH_AFTER_DRAIN.
    [Fact]
    public Task ControlMessages_AreServedWhileBatchesRun_AndALateBatchAfterDrainIsRefused() =>
        WithRuntime(async runtime =>
        {
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            var init = TestSession.InitFor("sleepy");
            init.MaxInFlight = 1;
            await session.OpenAsync(init);
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["sleep:1500"]) });
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(2, ["x"]) });
            await session.SendAsync(new MemberMessage { Ping = new Ping { Nonce = 42 } });

            var error = (await session.ReadAsync())!.Error;
            Assert.Equal(ProtocolError.Types.Code.TooManyInFlight, error.Code);
            Assert.Equal(2UL, error.BatchId);
            Assert.Equal(42UL, (await session.ReadAsync())!.Pong.Nonce);

            await session.SendAsync(new MemberMessage { Drain = new Drain() });
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(3, ["late"]) });
            var late = (await session.ReadAsync())!.Error;
            Assert.Equal(ProtocolError.Types.Code.BatchAfterDrain, late.Code);
            Assert.Equal(3UL, late.BatchId);
            Assert.Equal(1UL, (await session.ReadAsync())!.Result.BatchId);
            Assert.NotNull((await session.ReadAsync())!.Drained);
            await WaitForLog(runtime, "protocol error BatchAfterDrain");
            await AssertWellBehavedSessionWorks(runtime);
        });

    // Rows 6 and 13: calls that ignore their deadline are abandoned and capped per session and per
    // runtime (CODE_OVERLOADED beyond), reported as stuck at Error, and health is NOT_SERVING until
    // they end. Thirty such batches of 2 MiB over three sessions raise RSS by less than 64 MiB.
    [Fact]
    public Task CallsThatIgnoreTheirDeadline_AreCappedReportedStuckAndHealthGoesNotServing() =>
        WithRuntime(async runtime =>
        {
            Assert.Equal(1, await SessionRawGrpc.HealthAsync(runtime.Address));
            var padding = new string('p', 2 * 1024 * 1024);
            var codes = new List<ItemError.Types.Code>();
            var sessions = new List<TestSession>();
            try
            {
                var rise = await RssRiseDuring(runtime, async () =>
                {
                    for (var s = 0; s < 3; s++)
                    {
                        var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
                        sessions.Add(session);
                        await session.OpenAsync(TestSession.InitFor("sleepy"));
                        for (ulong id = 1; id <= 10; id++)
                        {
                            // 20 s: everything up to the NOT_SERVING check below must happen while the two
                            // abandoned calls still run, and a busy machine can take several seconds for it.
                            var result = (await session.RunAsync([TestSession.MakeBatch(id, ["sleep:20000", padding], deadlineMs: 100)], 1))[id];
                            codes.Add(result.Error?.Code ?? result.Results[0].Error.Code);
                        }

                        if (s == 0)
                        {
                            // One abandoned call in the runtime: a well-behaved session is still served.
                            await AssertWellBehavedSessionWorks(runtime);
                        }
                    }
                });

                // Per session at most 1 abandoned call, per runtime 2: 2 deadline errors, 28 refusals.
                Assert.Equal(2, codes.Count(c => c == ItemError.Types.Code.DeadlineExceeded));
                Assert.Equal(28, codes.Count(c => c == ItemError.Types.Code.Overloaded));
                Assert.True(rise < 64 * MiB, $"RSS rose {rise / MiB} MiB");

                await WaitForLog(runtime, "ERR] Jex.Runtime.Session: Session 1: a call of sleepy (batch 1) is stuck");
                Assert.Equal(2, await SessionRawGrpc.HealthAsync(runtime.Address));

                // The calls end: health comes back and batches run again.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (await SessionRawGrpc.HealthAsync(runtime.Address) != 1)
                {
                    Assert.True(DateTime.UtcNow < deadline, "health never came back to SERVING");
                    await Task.Delay(100);
                }

                Assert.Single((await sessions[2].RunAsync([TestSession.MakeBatch(11, ["x"])], 1))[11].Results[0].Ok.Outputs_);
            }
            finally
            {
                foreach (var session in sessions)
                {
                    await session.DisposeAsync();
                }
            }
        }, "--UserCode:StuckCallSeconds=1", "--UserCode:MaxAbandonedCallsPerSession=1", "--UserCode:MaxAbandonedCalls=2");
}

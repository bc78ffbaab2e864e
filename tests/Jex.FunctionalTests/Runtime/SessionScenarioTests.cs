using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Jex.Transport.SharedMemory;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>
/// The runtime core's scenarios against a real jex-runtime process, once per transport. Each test
/// owns its runtime, so a failure prints that runtime's whole log.
/// </summary>
public sealed class SessionScenarioTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _scratch = Paths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<T> WithRuntime<T>(TransportKind kind, Func<RuntimeProcess, Task<T>> body, params string[] extra)
    {
        await using var runtime = await Transports.StartRuntimeAsync(kind, _scratch, extra);
        try
        {
            return await body(runtime);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    private static string[] Values(int from, int count) => [.. Enumerable.Range(from, count).Select(i => "v" + i)];

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Transform_TenThousandItemsInFortyBatchesFourInFlight_ReturnsEveryResultInOrder(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            var ready = await session.OpenAsync(TestSession.InitFor("throwOnDemand"));
            Assert.Equal("throwOnDemand", ready.Signature.Name);
            Assert.Equal(runtime.Pid, ready.Pid);

            var batches = Enumerable.Range(0, 40).Select(b => TestSession.MakeBatch((ulong)b + 1, Values(b * 250, 250))).ToList();
            var results = await session.RunAsync(batches, inFlight: 4);

            var total = 0;
            foreach (var batch in batches)
            {
                var result = results[batch.Id];
                Assert.Equal(batch.Items.Count, result.Results.Count);
                for (var i = 0; i < batch.Items.Count; i++)
                {
                    var output = Assert.Single(result.Results[i].Ok.Outputs_);
                    Assert.Equal(batch.Items[i].Value, output.Value);
                    Assert.Equal(batch.Items[i].Key, output.Key);
                    total++;
                }
            }

            Assert.Equal(10_000, total);
            var drained = await session.DrainAsync();
            Assert.Equal(40UL, drained.Batches);
            Assert.Equal(10_000UL, drained.Items);
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Transform_WhenEveryHundredthItemThrows_ReturnsThoseAsItemErrorsAndTheRestOk(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("throwOnDemand"));
            var values = Enumerable.Range(0, 1000).Select(i => i % 100 == 0 ? "throw-" + i : "ok-" + i).ToList();
            var batches = values.Chunk(250).Select((chunk, b) => TestSession.MakeBatch((ulong)b + 1, chunk)).ToList();
            var results = await session.RunAsync(batches, inFlight: 2);

            var flat = batches.SelectMany(b => results[b.Id].Results).ToList();
            Assert.Equal(1000, flat.Count);
            for (var i = 0; i < flat.Count; i++)
            {
                if (i % 100 == 0)
                {
                    Assert.Equal(ItemResult.OutcomeOneofCase.Error, flat[i].OutcomeCase);
                    Assert.Equal(ItemError.Types.Code.UserException, flat[i].Error.Code);
                    Assert.Equal("System.InvalidOperationException", flat[i].Error.Type);
                    Assert.Contains($"throw-{i}", flat[i].Error.Message, StringComparison.Ordinal);
                    // The JIT may inline the user method into its compiled caller, so only require a stack.
                    Assert.Contains("   at ", flat[i].Error.Stack, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal($"ok-{i}", TestSession.Text(Assert.Single(flat[i].Ok.Outputs_).Value));
                }
            }

            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Transform_FilterAndFlatMap_ReturnTheRightNumberOfOutputs(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using (var filter = new TestSession(Transports.Open(kind, runtime)))
            {
                await filter.OpenAsync(TestSession.InitFor("filterEven"));
                var result = (await filter.RunAsync([TestSession.MakeBatch(1, Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)))], 1))[1];
                Assert.Equal(10, result.Results.Count);
                Assert.Equal([1, 0, 1, 0, 1, 0, 1, 0, 1, 0], result.Results.Select(r => r.Ok.Outputs_.Count));
                Assert.Equal("4", TestSession.Text(result.Results[4].Ok.Outputs_[0].Value));
            }

            await using var explode = new TestSession(Transports.Open(kind, runtime));
            var ready = await explode.OpenAsync(TestSession.InitFor("explode"));
            Assert.Equal(FunctionSignature.Types.Cardinality.Many, ready.Signature.Cardinality);
            var flat = (await explode.RunAsync([TestSession.MakeBatch(1, ["a,b,c", "", "d", "e,f"])], 1))[1];
            Assert.Equal([3, 0, 1, 2], flat.Results.Select(r => r.Ok.Outputs_.Count));
            Assert.Equal(["a", "b", "c"], flat.Results[0].Ok.Outputs_.Select(o => TestSession.Text(o.Value)));
            Assert.All(flat.Results[0].Ok.Outputs_, o => Assert.Equal("key-a,b,c", TestSession.Text(o.Key)));
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Init_WithWrongToken_IsRefusedWithPermissionDeniedAndUserCodeNeverRuns(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            var counter = Path.Combine(_scratch, "counter.txt");
            await File.WriteAllTextAsync(counter, "41");
            foreach (var token in new[] { "wrong-token", "" })
            {
                await using var session = new TestSession(Transports.Open(kind, runtime));
                var init = TestSession.InitFor("countCalls", token);
                init.Settings["counter-file"] = counter;
                var refused = await Assert.ThrowsAsync<SessionEndedException>(async () =>
                {
                    await session.OpenAsync(init);
                    await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["x"]) });
                    await session.ReadAsync();
                });
                Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            }

            Assert.Equal("41", await File.ReadAllTextAsync(counter));

            // The same function with the right token does run: the side effect is observable.
            await using var good = new TestSession(Transports.Open(kind, runtime));
            var goodInit = TestSession.InitFor("countCalls");
            goodInit.Settings["counter-file"] = counter;
            await good.OpenAsync(goodInit);
            await good.RunAsync([TestSession.MakeBatch(1, ["x"])], 1);
            Assert.Equal("42", await File.ReadAllTextAsync(counter));
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Init_WithUnknownFunction_IsRefusedNamingItAndListingWhatIsAvailable(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            var refused = await Assert.ThrowsAsync<SessionEndedException>(() => session.OpenAsync(TestSession.InitFor("noSuchFunction")));
            Assert.Equal(StatusCode.NotFound, refused.StatusCode);
            Assert.Contains("'noSuchFunction'", refused.Message, StringComparison.Ordinal);
            Assert.Contains("doThingDotnet", refused.Message, StringComparison.Ordinal);
            Assert.Contains("identity", refused.Message, StringComparison.Ordinal);
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Batch_PastItsDeadline_ReturnsDeadlineErrorsAndTheNextBatchSucceeds(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("sleepy"));
            var started = DateTime.UtcNow;
            // The sleep does not observe cancellation: only the deadline can answer before it ends.
            // The margin between the two (300 ms, 10 s) is wide enough for a machine under load.
            var late = (await session.RunAsync([TestSession.MakeBatch(1, ["fast", "sleep:10000", "after"], deadlineMs: 300)], 1))[1];
            var elapsed = DateTime.UtcNow - started;

            Assert.Equal(3, late.Results.Count);
            Assert.Equal("fast", TestSession.Text(late.Results[0].Ok.Outputs_[0].Value));
            Assert.Equal(ItemError.Types.Code.DeadlineExceeded, late.Results[1].Error.Code);
            Assert.Equal(ItemError.Types.Code.DeadlineExceeded, late.Results[2].Error.Code);
            Assert.Contains("300 ms", late.Results[1].Error.Message, StringComparison.Ordinal);
            Assert.True(elapsed < TimeSpan.FromSeconds(8), $"deadline result took {elapsed}: it waited for the 10 s sleep, not the 300 ms deadline");

            var next = (await session.RunAsync([TestSession.MakeBatch(2, ["a", "b"], deadlineMs: 5000)], 1))[2];
            Assert.Equal(["a", "b"], next.Results.Select(r => TestSession.Text(r.Ok.Outputs_[0].Value)));
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task TwoSessionsAtOnce_BothComplete(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            async Task<int> RunOne(string function, string prefix)
            {
                await using var session = new TestSession(Transports.Open(kind, runtime));
                await session.OpenAsync(TestSession.InitFor(function));
                var batches = Enumerable.Range(0, 20).Select(b => TestSession.MakeBatch((ulong)b + 1, Values(b * 100, 100).Select(v => prefix + v))).ToList();
                var results = await session.RunAsync(batches, 4);
                await session.DrainAsync();
                return batches.Sum(b => results[b.Id].Results.Count(r => r.Ok is not null && TestSession.Text(r.Ok.Outputs_[0].Value).StartsWith(prefix, StringComparison.Ordinal)));
            }

            var counts = await Task.WhenAll(RunOne("throwOnDemand", "a-"), RunOne("jitter", "b-"));
            Assert.Equal([2000, 2000], counts);
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task UserLog_IsForwardedWithItsBatchIdBeforeTheBatchResult(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("logAndEcho"));
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(77, ["hello", "world"]) });
            var result = await session.ReadUntilAsync(m => m.Result is not null);

            Assert.Equal(77UL, result.Result.BatchId);
            Assert.Equal(2, session.Logs.Count);
            Assert.All(session.Logs, l => Assert.Equal(77UL, l.BatchId));
            Assert.Equal(LogLevel.Information, session.Logs[0].Level);
            Assert.Equal("processing hello from partition 7", session.Logs[0].Message);
            Assert.Equal("UserCode.logAndEcho", session.Logs[0].Category);
            // The runtime's own log goes out on stderr, which this process reads on another thread:
            // it can arrive after the result did over the session.
            await Jex.Testing.Shared.Wait.UntilAsync(
                () => runtime.StderrLines.Any(l => l.Contains("processing \"world\" from partition 7", StringComparison.Ordinal)
                    || l.Contains("processing world from partition 7", StringComparison.Ordinal)),
                TestSession.Timeout,
                "the runtime's stderr showing the user log line");
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task UserAssembly_WithItsOwnNuGetDependency_LoadsAndRuns(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("newtonsoftTag"));
            var result = (await session.RunAsync([TestSession.MakeBatch(1, ["{\"a\":1}"])], 1))[1];
            Assert.Equal("{\"a\":1,\"taggedBy\":\"Newtonsoft.Json 13.0.0.0\"}", TestSession.Text(result.Results[0].Ok.Outputs_[0].Value));
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task MalformedMessages_GetErrorsNamingTheProblemAndTheSessionGoesOn(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("throwOnDemand"));

            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(0, ["zero"]) });
            var zero = (await session.ReadUntilAsync(m => m.Error is not null)).Error;
            Assert.Equal(ProtocolError.Types.Code.Malformed, zero.Code);
            Assert.Contains("batch id 0 is not allowed", zero.Message, StringComparison.Ordinal);

            await session.RunAsync([TestSession.MakeBatch(5, ["a"])], 1);
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(5, ["again"]) });
            var dup = (await session.ReadUntilAsync(m => m.Error is not null)).Error;
            Assert.Equal(ProtocolError.Types.Code.DuplicateBatchId, dup.Code);
            Assert.Equal(5UL, dup.BatchId);
            Assert.Contains("batch id 5", dup.Message, StringComparison.Ordinal);

            await session.SendAsync(new MemberMessage { Init = TestSession.InitFor("identity") });
            Assert.Equal(ProtocolError.Types.Code.DuplicateInit, (await session.ReadUntilAsync(m => m.Error is not null)).Error.Code);

            await session.SendAsync(new MemberMessage());
            Assert.Equal(ProtocolError.Types.Code.EmptyMessage, (await session.ReadUntilAsync(m => m.Error is not null)).Error.Code);

            var huge = TestSession.MakeBatch(6, [new string('x', 600_000), "y"]);
            var oversized = (await session.RunAsync([huge], 1))[6];
            // One batch-level error stands for both items: its size does not grow with the batch.
            Assert.Empty(oversized.Results);
            Assert.Equal(ItemError.Types.Code.BatchTooLarge, oversized.Error.Code);
            Assert.Contains("524288 bytes", oversized.Error.Message, StringComparison.Ordinal);

            var after = (await session.RunAsync([TestSession.MakeBatch(7, ["still-here"])], 1))[7];
            Assert.Equal("still-here", TestSession.Text(after.Results[0].Ok.Outputs_[0].Value));
            return 0;
        }, "--UserCode:MaxBatchBytes=524288");

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task BatchBeforeInit_EndsTheSessionWithFailedPreconditionAndOtherSessionsGoOn(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var bad = new TestSession(Transports.Open(kind, runtime));
            await bad.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["x"]) });
            var refused = await Assert.ThrowsAsync<SessionEndedException>(() => bad.ReadAsync());
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("must be Init", refused.Message, StringComparison.Ordinal);

            await using var good = new TestSession(Transports.Open(kind, runtime));
            await good.OpenAsync(TestSession.InitFor("identity"));
            Assert.Single((await good.RunAsync([TestSession.MakeBatch(1, ["x"])], 1))[1].Results);
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task ClientDisconnectingMidBatch_DoesNotDisturbTheRuntime(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            var quitter = new TestSession(Transports.Open(kind, runtime));
            await quitter.OpenAsync(TestSession.InitFor("sleepy"));
            await quitter.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["sleep:500", "sleep:500"]) });
            await quitter.DisposeAsync();

            await using var next = new TestSession(Transports.Open(kind, runtime));
            await next.OpenAsync(TestSession.InitFor("sleepy"));
            var result = (await next.RunAsync([TestSession.MakeBatch(1, ["ok"])], 1))[1];
            Assert.Equal("ok", TestSession.Text(result.Results[0].Ok.Outputs_[0].Value));

            // The abandoned batch (2 x 500 ms, started before this one was sent) ends, and its
            // result finds no reader, while this 3 s one runs: once it is back, that has happened.
            var outlasting = (await next.RunAsync([TestSession.MakeBatch(2, ["sleep:3000", "still"])], 1))[2];
            Assert.Equal("still", TestSession.Text(outlasting.Results[1].Ok.Outputs_[0].Value));
            Assert.False(runtime.HasExited);
            return 0;
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public async Task Sigterm_RightAfterTheReadyLine_StopsCleanlyWithExitZeroAndNoFilesLeft(TransportKind kind)
    {
        // Shared memory says ready before its host is even built: a SIGTERM at that moment must
        // still stop it cleanly (it once crashed with 134 and left its files).
        var runtime = await Transports.StartRuntimeAsync(kind, _scratch);
        await using var _ = runtime;
        var endpoint = Transports.EndpointFile(kind, runtime);

        runtime.Signal(LibC.SigTerm);

        Assert.Equal(0, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        if (endpoint is not null)
        {
            Assert.False(File.Exists(endpoint), $"{endpoint} left behind");
        }
    }

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public async Task Sigterm_DuringTraffic_CompletesInFlightBatchesThenExitsZeroAndRemovesItsFiles(TransportKind kind)
    {
        var runtime = await Transports.StartRuntimeAsync(kind, _scratch);
        await using var _ = runtime;
        var endpoint = Transports.EndpointFile(kind, runtime);
        if (endpoint is not null)
        {
            Assert.True(File.Exists(endpoint));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(endpoint));
        }

        await using var session = new TestSession(Transports.Open(kind, runtime));
        await session.OpenAsync(TestSession.InitFor("sleepy"));
        for (ulong b = 1; b <= 3; b++)
        {
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(b, ["sleep:400", "done-" + b]) });
        }

        // The Pong proves the three batches were read before the signal: the reader handles
        // messages in order. The signal may then arrive while a shared-memory runtime's host is
        // still starting, which the runtime must survive too.
        var results = new List<BatchResult>();
        Drained? drained = null;
        await session.SendAsync(new MemberMessage { Ping = new Ping { Nonce = 77 } });
        while (await ReadOrExplainAsync() is { } early && early.Pong is null)
        {
            if (early.Result is { } r)
            {
                results.Add(r);
            }
        }

        runtime.Signal(LibC.SigTerm);

        while (await ReadOrExplainAsync() is { } m)
        {
            if (m.Result is { } r)
            {
                results.Add(r);
            }
            else if (m.Drained is { } d)
            {
                // The member ends its side after Drained: a stopping runtime holds the call until then.
                drained = d;
                await session.CompleteAsync();
            }
        }

        Assert.Equal([1UL, 2UL, 3UL], results.Select(r => r.BatchId).Order());

        // A failed read says what the runtime logged, which is where the reason is.
        async Task<RuntimeMessage?> ReadOrExplainAsync()
        {
            try
            {
                return await session.ReadAsync(TimeSpan.FromSeconds(20));
            }
            catch (SessionEndedException e)
            {
                throw new InvalidOperationException($"{e.Message}\nruntime log:\n{runtime.Log}", e);
            }
        }
        Assert.All(results, r => Assert.All(r.Results, i => Assert.Equal(ItemResult.OutcomeOneofCase.Ok, i.OutcomeCase)));
        Assert.NotNull(drained);
        Assert.Equal(0, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        if (endpoint is not null)
        {
            Assert.False(File.Exists(endpoint), "socket file left behind");
        }
    }
}

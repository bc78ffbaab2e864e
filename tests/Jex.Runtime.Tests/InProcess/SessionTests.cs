using Google.Protobuf;
using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Microsoft.Extensions.DependencyInjection;

namespace Jex.Runtime.Tests.InProcess;

/// <summary>
/// Session logic through the real gRPC service, in process: handshake, batches, user errors and
/// logs, malformed input and cancellation. Signals, parent death and real sockets stay in
/// Jex.FunctionalTests.
/// </summary>
public sealed class SessionTests : IAsyncLifetime
{
    private InProcessRuntime _runtime = null!;

    public async Task InitializeAsync() => _runtime = await InProcessRuntime.StartAsync();

    public async Task DisposeAsync() => await _runtime.DisposeAsync();

    private static Batch BatchOf(ulong id, params string[] values)
    {
        var batch = new Batch { Id = id };
        foreach (var value in values)
        {
            batch.Items.Add(new Item { Value = ByteString.CopyFromUtf8(value), Partition = 3 });
        }

        return batch;
    }

    private static string[] Outputs(ItemResult result) => [.. result.Ok.Outputs_.Select(o => o.Value.ToStringUtf8())];

    [Fact]
    public async Task Handshake_WithTheRightTokenAndVersion_AnswersReadyWithTheFunctionsSignatureAndLimits()
    {
        var (call, ready) = await _runtime.OpenSessionAsync("explode");
        using (call)
        {
            Assert.Equal(Environment.ProcessId, ready.Pid);
            Assert.Contains("cancel", ready.Capabilities);
            Assert.Equal(16U, ready.Limits.MaxInFlight);
            Assert.Equal("explode", ready.Signature.Name);
            Assert.Equal(FunctionSignature.Types.Cardinality.Many, ready.Signature.Cardinality);
            Assert.Equal(1, _runtime.Services.GetRequiredService<SessionProcessor>().ActiveSessions);
        }
    }

    [Fact]
    public async Task Handshake_WithAnotherProtocolVersion_IsRefusedNamingBothVersions()
    {
        using var call = _runtime.Open();
        var init = InProcessRuntime.InitFor("identity");
        init.ProtocolVersion = 7;
        await call.SendAsync(new MemberMessage { Init = init });

        var refused = await call.ReadUntilFailureAsync();
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("protocol version 7 is not supported", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("speaks version 1", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handshake_WithAWrongToken_IsRefusedPermissionDeniedWithoutSayingTheToken()
    {
        using var call = _runtime.Open();
        await call.SendAsync(new MemberMessage { Init = InProcessRuntime.InitFor("identity", token: "not-the-token") });

        var refused = await call.ReadUntilFailureAsync();
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("wrong token", refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-token", refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(InProcessRuntime.Token, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _runtime.Services.GetRequiredService<SessionProcessor>().ActiveSessions);
    }

    [Fact]
    public async Task ABatch_RoundTripsEveryItemInOrder_WithFlatMapAndEmptyOutputs()
    {
        var (call, _) = await _runtime.OpenSessionAsync("explode");
        using (call)
        {
            await call.SendAsync(new MemberMessage { Batch = BatchOf(41, "a,b", "", "c", "d,e,f") });

            var result = (await call.ReadUntilAsync(RuntimeMessage.KindOneofCase.Result)).Message.Result;
            Assert.Equal(41UL, result.BatchId);
            Assert.Equal(4, result.Results.Count);
            Assert.Equal(["a", "b"], Outputs(result.Results[0]));
            Assert.Empty(Outputs(result.Results[1]));
            Assert.Equal(["c"], Outputs(result.Results[2]));
            Assert.Equal(["d", "e", "f"], Outputs(result.Results[3]));
        }
    }

    [Fact]
    public async Task AUserException_BecomesThatItemsError_AndTheOtherItemsStillSucceed()
    {
        var (call, _) = await _runtime.OpenSessionAsync("throwOnDemand");
        using (call)
        {
            await call.SendAsync(new MemberMessage { Batch = BatchOf(1, "ok-1", "throw now", "ok-2") });

            var result = (await call.ReadUntilAsync(RuntimeMessage.KindOneofCase.Result)).Message.Result;
            Assert.Equal(["ok-1"], Outputs(result.Results[0]));
            Assert.Equal(ItemError.Types.Code.UserException, result.Results[1].Error.Code);
            Assert.Equal("System.InvalidOperationException", result.Results[1].Error.Type);
            Assert.Equal("asked to throw by 'throw now'", result.Results[1].Error.Message);
            Assert.Equal(["ok-2"], Outputs(result.Results[2]));

            // The runtime records the failure for its operator, below Error: it is the user's, not the runtime's.
            var failed = Assert.Single(_runtime.Logs.Entries, e => e.EventId.Id == 307);
            Assert.IsType<InvalidOperationException>(failed.Exception);
        }
    }

    [Fact]
    public async Task ABatchsLogs_ReachTheClientBeforeItsResult_TaggedWithTheBatch()
    {
        var (call, _) = await _runtime.OpenSessionAsync("logAndEcho");
        using (call)
        {
            // Twelve: below the default UserCode:MaxInFlight of 16, so none is refused.
            for (ulong id = 1; id <= 12; id++)
            {
                await call.SendAsync(new MemberMessage { Batch = BatchOf(id, $"v{id}-a", $"v{id}-b") });
            }

            var logsSeen = new Dictionary<ulong, int>();
            for (var results = 0; results < 12;)
            {
                var message = await call.ReadAsync() ?? throw new InvalidOperationException("the call ended early");
                if (message.Log is { } log)
                {
                    Assert.Contains($"processing v{log.BatchId}-", log.Message, StringComparison.Ordinal);
                    Assert.Equal("UserCode.logAndEcho", log.Category);
                    logsSeen[log.BatchId] = logsSeen.GetValueOrDefault(log.BatchId) + 1;
                }
                else if (message.Result is { } result)
                {
                    Assert.True(logsSeen.GetValueOrDefault(result.BatchId) == 2, $"batch {result.BatchId}'s result came after {logsSeen.GetValueOrDefault(result.BatchId)} of its 2 logs");
                    results++;
                }
            }
        }
    }

    [Fact]
    public async Task AMalformedMessage_EndsTheCallWithInvalidArgumentSayingWhatWasWrong()
    {
        using var call = _runtime.OpenRaw();
        await call.RequestStream.WriteAsync(new MemberMessage { Init = InProcessRuntime.InitFor("identity") }.ToByteArray()).WaitAsync(InProcessRuntime.Timeout);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(InProcessRuntime.Timeout));
        Assert.NotNull(RuntimeMessage.Parser.ParseFrom(call.ResponseStream.Current).Ready);

        // Field 3 (Batch) claims 100 bytes and carries 2: not a MemberMessage.
        await call.RequestStream.WriteAsync([0x1A, 100, 0x08, 0x01]).WaitAsync(InProcessRuntime.Timeout);

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext().WaitAsync(InProcessRuntime.Timeout))
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("4-byte message is not a valid MemberMessage", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_EndsARunningBatchWithCancelledItems_AndTheSessionGoesOn()
    {
        var (call, _) = await _runtime.OpenSessionAsync("sleepy");
        using (call)
        {
            await call.SendAsync(new MemberMessage { Batch = BatchOf(5, "sleep:3000", "sleep:3000") });
            await call.SendAsync(new MemberMessage { Cancel = new Cancel { BatchId = 5 } });

            var result = (await call.ReadUntilAsync(RuntimeMessage.KindOneofCase.Result)).Message.Result;
            Assert.Equal(5UL, result.BatchId);
            Assert.All(result.Results, r => Assert.Equal(ItemError.Types.Code.Cancelled, r.Error.Code));

            await call.SendAsync(new MemberMessage { Ping = new Ping { Nonce = 9 } });
            Assert.Equal(9UL, (await call.ReadUntilAsync(RuntimeMessage.KindOneofCase.Pong)).Message.Pong.Nonce);
        }
    }

    [Fact]
    public async Task TheMemberCancellingTheCall_EndsItsSession_AndTheNextSessionIsServed()
    {
        var processor = _runtime.Services.GetRequiredService<SessionProcessor>();
        using var abort = new CancellationTokenSource();
        using (var call = _runtime.Open(abort.Token))
        {
            await call.SendAsync(new MemberMessage { Init = InProcessRuntime.InitFor("sleepy") });
            Assert.NotNull((await call.ReadAsync())?.Ready);
            await call.SendAsync(new MemberMessage { Batch = BatchOf(1, "sleep:3000") });
            await abort.CancelAsync();
            await Testing.Shared.Wait.UntilAsync(() => processor.ActiveSessions == 0, InProcessRuntime.Timeout, "the cancelled session ending");
        }

        var (next, _) = await _runtime.OpenSessionAsync("identity");
        using (next)
        {
            await next.SendAsync(new MemberMessage { Batch = BatchOf(2, "still here") });
            Assert.Equal(["still here"], Outputs((await next.ReadUntilAsync(RuntimeMessage.KindOneofCase.Result)).Message.Result.Results[0]));
        }
    }
}

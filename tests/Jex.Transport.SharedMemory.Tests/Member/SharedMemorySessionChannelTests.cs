using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Jex.Member.Transports;
using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.V1;

namespace Jex.Transport.SharedMemory.Tests.Member;

/// <summary>
/// The member's session channel against a runtime side played by the test on the same real rings:
/// it reads MemberMessages from ring 0 and answers on ring 1 exactly as docs/shared-memory.md says.
/// </summary>
public sealed class SharedMemorySessionChannelTests
{
    private static readonly SharedMemoryOptions SmallRings = new()
    {
        MemberToRuntimeCapacity = 4096,
        RuntimeToMemberCapacity = 4096,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
    };

    [Fact]
    public async Task SendAndRead_WithBatchesFourTimesTheRing_RoundTripThroughAnEchoRuntime()
    {
        using var runtime = SharedMemoryChannel.Create(NewUid(), SmallRings);
        var echo = StartEchoRuntime(runtime);
        await using var member = SharedMemorySessionChannel.Open(runtime.Path, SmallRings);

        await member.SendAsync(new MemberMessage { Init = new Init { ProtocolVersion = 1, Function = "f" } }, CancellationToken.None);
        var ready = await member.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("f", ready!.Ready.Signature.Name);

        for (ulong id = 1; id <= 20; id++)
        {
            var value = ByteString.CopyFrom(Payloads.Make(id % 2 == 0 ? 4 * 4096 : 64, (long)id));
            var batch = new Batch { Id = id, Items = { new Item { Value = value } } };
            await member.SendAsync(new MemberMessage { Batch = batch }, CancellationToken.None);
            var result = await member.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(id, result!.Result.BatchId);
            Assert.Equal(value, result.Result.Results[0].Ok.Outputs_[0].Value);
        }

        await member.SendAsync(new MemberMessage { Drain = new Drain() }, CancellationToken.None);
        Assert.Equal(RuntimeMessage.KindOneofCase.Drained, (await member.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!.KindCase);
        Assert.Null(await member.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        await echo.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Read_WhenTheRuntimeClosesWithPermissionDenied_ThrowsSessionEndedWithThatStatus()
    {
        using var runtime = SharedMemoryChannel.Create(NewUid(), SmallRings);
        await using var member = SharedMemorySessionChannel.Open(runtime.Path, SmallRings);
        Write(runtime, new RuntimeMessage { Closed = new SessionClosed { Code = 7, Message = "wrong token" } });
        var error = await Assert.ThrowsAsync<SessionEndedException>(() => member.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("wrong token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_WhenTheRuntimeProcessDies_ThrowsUnavailableNamingItsExitAndRemovesTheFile()
    {
        using var runtime = SharedMemoryChannel.Create(NewUid(), SmallRings);
        // With a heartbeat timeout out of reach, only the liveness check on each tick can report the death.
        await using var member = SharedMemorySessionChannel.Open(runtime.Path, new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = SmallRings.MemberToRuntimeCapacity,
            RuntimeToMemberCapacity = SmallRings.RuntimeToMemberCapacity,
            HeartbeatInterval = SmallRings.HeartbeatInterval,
            HeartbeatTimeout = TimeSpan.FromMinutes(10),
        });
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        // The member's transport watches the creator slot; hand it a process we can kill -9.
        unsafe
        {
            var side = runtime.BasePointer + ShmLayout.CreatorSideOffset;
            Volatile.Write(ref *(int*)(side + ShmLayout.SidePidOffset), sleeper.Id);
        }

        var read = member.ReadAsync(CancellationToken.None).AsTask();
        await Task.Delay(300);
        Assert.False(read.IsCompleted);
        sleeper.Kill();
        var error = await Assert.ThrowsAsync<SessionEndedException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains($"pid {sleeper.Id}", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(runtime.Path));
        await Assert.ThrowsAsync<SessionEndedException>(() => member.SendAsync(new MemberMessage { Ping = new Ping() }, CancellationToken.None).AsTask());
    }

    private static string NewUid() => "test-" + Guid.NewGuid().ToString("N")[..12];

    private static void Write(SharedMemoryChannel runtime, RuntimeMessage message)
    {
        runtime.Outbound.Write(message.ToByteArray(), CancellationToken.None);
        runtime.Outbound.Flush();
    }

    private static Task StartEchoRuntime(SharedMemoryChannel runtime) => Task.Factory.StartNew(
        () =>
        {
            var done = false;
            while (!done)
            {
                runtime.Inbound.WaitForData(CancellationToken.None);
                runtime.Inbound.Drain(span =>
                {
                    var message = MemberMessage.Parser.ParseFrom(span);
                    switch (message.KindCase)
                    {
                        case MemberMessage.KindOneofCase.Init:
                            Write(runtime, new RuntimeMessage { Ready = new Ready { Signature = new FunctionSignature { Name = message.Init.Function } } });
                            break;
                        case MemberMessage.KindOneofCase.Batch:
                            var result = new BatchResult { BatchId = message.Batch.Id };
                            foreach (var item in message.Batch.Items)
                            {
                                result.Results.Add(new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Value = item.Value } } } });
                            }

                            Write(runtime, new RuntimeMessage { Result = result });
                            break;
                        case MemberMessage.KindOneofCase.Drain:
                            Write(runtime, new RuntimeMessage { Drained = new Drained() });
                            Write(runtime, new RuntimeMessage { Closed = new SessionClosed { Code = 0 } });
                            done = true;
                            break;
                    }
                });
            }
        },
        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}

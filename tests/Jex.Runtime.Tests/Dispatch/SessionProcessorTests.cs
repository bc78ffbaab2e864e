using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// The dispatcher in isolation: messages in through a channel, out through an in-memory
/// <see cref="ISessionOutput"/>. The same paths run over real transports in Jex.FunctionalTests.
/// </summary>
public sealed partial class SessionProcessorTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<MemberMessage> _in = Channel.CreateUnbounded<MemberMessage>();
    private readonly Channel<RuntimeMessage> _out = Channel.CreateUnbounded<RuntimeMessage>();
    private readonly TestApplicationLifetime _lifetime = new();
    private readonly RuntimeCounters _counters = new();
    private readonly SessionProcessor _processor;
    private readonly Task _session;

    public static class Functions
    {
        public static int Running;
        public static int MaxRunning;
        public static TaskCompletionSource Entered = NewSignal();
        public static TaskCompletionSource Gate = NewSignal();
        public static ManualResetEventSlim SyncGate = new(false);

        public static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Says it started, then waits for the test (not for cancellation).</summary>
        public static async Task<string> Gated(string value)
        {
            Entered.TrySetResult();
            await Gate.Task;
            return value;
        }

        /// <summary>A synchronous function: "block" blocks its thread until the test lets it go; anything else returns at once.</summary>
        public static string Blocking(string value)
        {
            if (value == "block")
            {
                Entered.TrySetResult();
                SyncGate.Wait();
            }

            return value;
        }

        public static async Task<string> WaitForCancel(string value, CancellationToken ct)
        {
            await Task.Delay(System.Threading.Timeout.Infinite, ct);
            return value;
        }

        public static async Task<string> Slow(string value)
        {
            var now = Interlocked.Increment(ref Running);
            InterlockedMax(ref MaxRunning, now);
            await Task.Delay(50);
            Interlocked.Decrement(ref Running);
            return value;
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    public SessionProcessorTests()
    {
        Functions.Entered = Functions.NewSignal();
        Functions.Gate = Functions.NewSignal();
        Functions.SyncGate.Reset();
        _processor = CreateProcessor(new UserCodeOptions { Token = "t", MaxInFlight = 8, MaxAbandonedCallsPerSession = 1, StuckCallSeconds = 1 }, _lifetime, _counters);
        _session = _processor.RunAsync(_in.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(_out.Writer), CancellationToken.None);
    }

    private static SessionProcessor CreateProcessor(UserCodeOptions options, IHostApplicationLifetime lifetime, RuntimeCounters? counters = null)
    {
        var codecs = new PayloadCodecs();
        var functions = new Dictionary<string, FunctionDescriptor>();
        foreach (var name in new[] { nameof(Functions.WaitForCancel), nameof(Functions.Slow), nameof(Functions.Gated), nameof(Functions.Blocking) })
        {
            var invoker = FunctionInvokerFactory.Create(typeof(Functions).GetMethod(name)!, null, codecs);
            functions[name] = new FunctionDescriptor(name, name, "test", invoker);
        }

        return new SessionProcessor(
            new FunctionCatalog(functions, codecs),
            Options.Create(options),
            counters ?? new RuntimeCounters(),
            NullLoggerFactory.Instance,
            lifetime);
    }

    private sealed class Output(ChannelWriter<RuntimeMessage> writer) : ISessionOutput
    {
        // Decoded with the generated parser: what the dispatcher encodes by hand must read back.
        public ValueTask WriteAsync(RuntimeMessageBuffer frame, bool moreFollows, CancellationToken cancellationToken) =>
            writer.WriteAsync(frame.ToMessage(), cancellationToken);
    }

    private async Task<Ready> InitAsync(string function, uint maxInFlight = 0, uint maxBatchBytes = 0, uint maxBatchItems = 0)
    {
        await _in.Writer.WriteAsync(new MemberMessage
        {
            Init = new Init
            {
                ProtocolVersion = ProtocolContract.Version, Token = "t", Function = function, MaxInFlight = maxInFlight, ValueFormat = Format.Text,
                MaxBatchBytes = maxBatchBytes, MaxBatchItems = maxBatchItems,
            },
        });
        return (await ReadAsync()).Ready;
    }

    private async Task<RuntimeMessage> ReadAsync() => await _out.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    private static Batch Batch(ulong id, params string[] values)
    {
        var b = new Batch { Id = id };
        foreach (var v in values)
        {
            b.Items.Add(new Item { Value = ByteString.CopyFromUtf8(v) });
        }

        return b;
    }

    public async ValueTask DisposeAsync()
    {
        Functions.Gate.TrySetResult();
        Functions.SyncGate.Set();
        _in.Writer.TryComplete();
        try
        {
            await _session.WaitAsync(Timeout);
        }
        catch (SessionRejectedException)
        {
            // Asserted by the test that caused it.
        }

        _processor.Dispose();
    }

    [Fact]
    public async Task Cancel_StopsARunningBatchAndEveryItemGetsACancelledError()
    {
        await InitAsync(nameof(Functions.WaitForCancel));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a", "b", "c") });
        await Task.Delay(100);
        await _in.Writer.WriteAsync(new MemberMessage { Cancel = new Cancel { BatchId = 1 } });

        var result = (await ReadAsync()).Result;
        Assert.Equal(1UL, result.BatchId);
        Assert.Equal(3, result.Results.Count);
        Assert.All(result.Results, r => Assert.Equal(ItemError.Types.Code.Cancelled, r.Error.Code));
        Assert.Contains("cancelled by the member", result.Results[0].Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ping_AnswersPongWithTheNonceAndRuntimeCounters()
    {
        await InitAsync(nameof(Functions.Slow));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a", "b") });
        Assert.NotNull((await ReadAsync()).Result);

        // A batch is counted once its result is handed to the transport, which the member can
        // see first: a Ping sent at once may count it or not (a known imprecision of Pong stats).
        await Wait.UntilAsync(() => _counters.Snapshot().Batches == 1, Timeout, "the batch being counted");
        await _in.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 99 } });

        var pong = (await ReadAsync()).Pong;
        Assert.Equal(99UL, pong.Nonce);
        Assert.Equal(1UL, pong.Stats.Batches);
        Assert.Equal(2UL, pong.Stats.Items);
        Assert.True(pong.Stats.AllocatedBytes > 0);
    }

    [Fact]
    public async Task MaxInFlightFromInit_ABatchBeyondItIsRefusedAndPingStillAnswered()
    {
        var ready = await InitAsync(nameof(Functions.WaitForCancel), maxInFlight: 2);
        Assert.Equal(2U, ready.Limits.MaxInFlight);
        for (ulong i = 1; i <= 3; i++)
        {
            await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(i, "x") });
        }

        var error = (await ReadAsync()).Error;
        Assert.Equal(ProtocolError.Types.Code.TooManyInFlight, error.Code);
        Assert.Equal(3UL, error.BatchId);
        Assert.Contains("max_in_flight", error.Message, StringComparison.Ordinal);

        // The reader did not block behind the two running batches.
        await _in.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 5 } });
        Assert.Equal(5UL, (await ReadAsync()).Pong.Nonce);
        await _in.Writer.WriteAsync(new MemberMessage { Cancel = new Cancel { BatchId = 1 } });
        Assert.Equal(1UL, (await ReadAsync()).Result.BatchId);

        // The slot came back with the result: another batch is accepted.
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(4, "x") });
        await _in.Writer.WriteAsync(new MemberMessage { Cancel = new Cancel { BatchId = 4 } });
        Assert.Equal(4UL, (await ReadAsync()).Result.BatchId);
    }

    [Fact]
    public async Task RuntimeStopping_FinishesAcceptedBatchesThenSendsDrainedAndEnds()
    {
        await InitAsync(nameof(Functions.Gated));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a", "b", "c") });
        await Functions.Entered.Task.WaitAsync(Timeout);
        _lifetime.StopApplication();
        Functions.Gate.SetResult();

        var result = (await ReadAsync()).Result;
        Assert.Equal(["a", "b", "c"], result.Results.Select(r => r.Ok.Outputs_[0].Value.ToStringUtf8()));
        var drained = (await ReadAsync()).Drained;
        Assert.Equal(1UL, drained.Batches);
        await _session.WaitAsync(Timeout);
    }

    [Fact]
    public async Task BatchAfterDrain_IsRefusedNamingTheBatch_AndCancelStillWorks()
    {
        await InitAsync(nameof(Functions.WaitForCancel));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a") });
        await _in.Writer.WriteAsync(new MemberMessage { Drain = new Drain() });
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(2, "late", "later") });

        var error = (await ReadAsync()).Error;
        Assert.Equal(ProtocolError.Types.Code.BatchAfterDrain, error.Code);
        Assert.Equal(2UL, error.BatchId);
        Assert.Contains("2 item(s) were not processed", error.Message, StringComparison.Ordinal);

        await _in.Writer.WriteAsync(new MemberMessage { Cancel = new Cancel { BatchId = 1 } });
        Assert.Equal(1UL, (await ReadAsync()).Result.BatchId);
        Assert.NotNull((await ReadAsync()).Drained);
        _in.Writer.TryComplete();
        await _session.WaitAsync(Timeout);
    }

    [Fact]
    public async Task FirstMessageNotInit_IsRefusedWithFailedPrecondition()
    {
        var huge = new Batch { Id = 1 };
        for (var i = 0; i < 200_000; i++)
        {
            huge.Items.Add(new Item());
        }

        await _in.Writer.WriteAsync(new MemberMessage { Batch = huge });

        var e = await Assert.ThrowsAsync<SessionRejectedException>(() => _session.WaitAsync(Timeout));
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("must be Init, not Batch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoInitInTime_EndsTheSessionWithDeadlineExceeded()
    {
        using var processor = CreateProcessor(new UserCodeOptions { Token = "t", InitTimeoutSeconds = 1 }, new TestApplicationLifetime());
        var never = Channel.CreateUnbounded<MemberMessage>();
        var session = processor.RunAsync(never.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(Channel.CreateUnbounded<RuntimeMessage>().Writer), CancellationToken.None);

        var e = await Assert.ThrowsAsync<SessionRejectedException>(() => session.WaitAsync(Timeout));
        Assert.Equal(Grpc.Core.StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Contains("UserCode:InitTimeoutSeconds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionsOverMaxSessions_AreRefusedWithResourceExhausted()
    {
        using var processor = CreateProcessor(new UserCodeOptions { Token = "t", MaxSessions = 1 }, new TestApplicationLifetime());
        var first = Channel.CreateUnbounded<MemberMessage>();
        var firstOut = Channel.CreateUnbounded<RuntimeMessage>();
        var open = processor.RunAsync(first.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(firstOut.Writer), CancellationToken.None);
        await first.Writer.WriteAsync(new MemberMessage { Init = new Init { ProtocolVersion = ProtocolContract.Version, Token = "t", Function = nameof(Functions.Slow) } });
        Assert.NotNull((await firstOut.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Ready);

        var second = processor.RunAsync(Channel.CreateUnbounded<MemberMessage>().Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(Channel.CreateUnbounded<RuntimeMessage>().Writer), CancellationToken.None);
        var e = await Assert.ThrowsAsync<SessionRejectedException>(() => second.WaitAsync(Timeout));
        Assert.Equal(Grpc.Core.StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("UserCode:MaxSessions", e.Message, StringComparison.Ordinal);

        first.Writer.TryComplete();
        await open.WaitAsync(Timeout);
    }

    [Fact]
    public async Task InitLimitsBelowTheRuntimes_AreEchoedInReadyAndEnforcedWithOneBatchLevelError()
    {
        var ready = await InitAsync(nameof(Functions.Slow), maxBatchBytes: 2048, maxBatchItems: 2);
        Assert.Equal(2048U, ready.Limits.MaxBatchBytes);
        Assert.Equal(2U, ready.Limits.MaxBatchItems);

        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a", "b", "c") });
        var result = (await ReadAsync()).Result;
        Assert.Equal(1UL, result.BatchId);
        Assert.Empty(result.Results);
        Assert.Equal(ItemError.Types.Code.BatchTooLarge, result.Error.Code);
        Assert.Contains("3 items", result.Error.Message, StringComparison.Ordinal);

        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(2, "a", "b") });
        Assert.Equal(2, (await ReadAsync()).Result.Results.Count);
    }

    [Fact]
    public async Task AnOversizedBatch_GetsAnErrorWhoseSizeDoesNotGrowWithItsItems()
    {
        await InitAsync(nameof(Functions.Slow));
        var huge = new Batch { Id = 1 };
        for (var i = 0; i < 1_000_000; i++)
        {
            huge.Items.Add(new Item());
        }

        await _in.Writer.WriteAsync(new MemberMessage { Batch = huge });
        var message = await ReadAsync();
        Assert.Equal(ItemError.Types.Code.BatchTooLarge, message.Result.Error.Code);
        Assert.True(message.CalculateSize() < 512, $"{message.CalculateSize()} bytes");
    }
}

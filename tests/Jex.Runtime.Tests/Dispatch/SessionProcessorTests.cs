using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// The dispatcher in isolation: messages in through a channel, out through an in-memory
/// <see cref="ISessionOutput"/>. The same paths run over real transports in Jex.FunctionalTests.
/// </summary>
public sealed class SessionProcessorTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<MemberMessage> _in = Channel.CreateUnbounded<MemberMessage>();
    private readonly Channel<RuntimeMessage> _out = Channel.CreateUnbounded<RuntimeMessage>();
    private readonly Lifetime _lifetime = new();
    private readonly Task _session;

    public static class Functions
    {
        public static int Running;
        public static int MaxRunning;

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
        var codecs = new PayloadCodecs();
        var functions = new Dictionary<string, FunctionDescriptor>();
        foreach (var name in new[] { nameof(Functions.WaitForCancel), nameof(Functions.Slow) })
        {
            var invoker = FunctionInvokerFactory.Create(typeof(Functions).GetMethod(name)!, null, codecs);
            functions[name] = new FunctionDescriptor(name, name, "test", invoker);
        }

        var processor = new SessionProcessor(
            new FunctionCatalog(functions, codecs),
            Options.Create(new UserCodeOptions { Token = "t", MaxInFlight = 8 }),
            new RuntimeCounters(),
            NullLoggerFactory.Instance,
            _lifetime);
        _session = processor.RunAsync(_in.Reader.ReadAllAsync().Select(MemberFrame.From), new Output(_out.Writer), CancellationToken.None);
    }

    private sealed class Output(ChannelWriter<RuntimeMessage> writer) : ISessionOutput
    {
        // Decoded with the generated parser: what the dispatcher encodes by hand must read back.
        public ValueTask WriteAsync(RuntimeFrame frame, bool moreFollows, CancellationToken cancellationToken) =>
            writer.WriteAsync(frame.ToMessage(), cancellationToken);
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();
    }

    private async Task<Ready> InitAsync(string function, uint maxInFlight = 0)
    {
        await _in.Writer.WriteAsync(new MemberMessage { Init = new Init { ProtocolVersion = 1, Token = "t", Function = function, MaxInFlight = maxInFlight, ValueFormat = Format.Text } });
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
        _in.Writer.TryComplete();
        await _session.WaitAsync(Timeout);
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
        await _in.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 99 } });

        var pong = (await ReadAsync()).Pong;
        Assert.Equal(99UL, pong.Nonce);
        Assert.Equal(1UL, pong.Stats.Batches);
        Assert.Equal(2UL, pong.Stats.Items);
        Assert.True(pong.Stats.AllocatedBytes > 0);
    }

    [Fact]
    public async Task MaxInFlightFromInit_BoundsHowManyBatchesRunAtOnce()
    {
        var ready = await InitAsync(nameof(Functions.Slow), maxInFlight: 2);
        Assert.Equal(2U, ready.Limits.MaxInFlight);
        Volatile.Write(ref Functions.MaxRunning, 0);
        for (ulong i = 1; i <= 6; i++)
        {
            await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(i, "x") });
        }

        var ids = new List<ulong>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add((await ReadAsync()).Result.BatchId);
        }

        Assert.Equal([1UL, 2, 3, 4, 5, 6], ids.Order().ToArray());
        Assert.Equal(2, Volatile.Read(ref Functions.MaxRunning));
    }

    [Fact]
    public async Task RuntimeStopping_FinishesAcceptedBatchesThenSendsDrainedAndEnds()
    {
        await InitAsync(nameof(Functions.Slow));
        await _in.Writer.WriteAsync(new MemberMessage { Batch = Batch(1, "a", "b", "c") });
        await Task.Delay(20);
        _lifetime.StopApplication();

        var result = (await ReadAsync()).Result;
        Assert.Equal(["a", "b", "c"], result.Results.Select(r => r.Ok.Outputs_[0].Value.ToStringUtf8()));
        var drained = (await ReadAsync()).Drained;
        Assert.Equal(1UL, drained.Batches);
        await _session.WaitAsync(Timeout);
    }

    [Fact]
    public async Task BatchAfterDrain_IsRefusedNamingTheBatch()
    {
        await InitAsync(nameof(Functions.Slow));
        await _in.Writer.WriteAsync(new MemberMessage { Drain = new Drain() });
        Assert.NotNull((await ReadAsync()).Drained);
        await _session.WaitAsync(Timeout);
    }
}

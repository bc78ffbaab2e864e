using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Jex.UserCode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// User logging when the member stops reading: the function's thread is never held, the records the
/// queue has no room for are dropped, and the count is reported (Pong stats, and a Warning when the
/// session ends).
/// </summary>
public sealed class SessionLogForwardingTests
{
    private const int Records = 1000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static class Functions
    {
        public static TaskCompletionSource Logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static string Chatty(string value, IJexContext context)
        {
            for (var i = 0; i < Records; i++)
            {
                context.Logger.LogInformation("record {Index}", i);
            }

            Logged.TrySetResult();
            return value;
        }
    }

    [Fact]
    public async Task UserLogging_WhileTheMemberDoesNotRead_DropsInsteadOfBlocking_AndReportsTheCount()
    {
        Functions.Logged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var codecs = new PayloadCodecs();
        var invoker = FunctionInvokerFactory.Create(typeof(Functions).GetMethod(nameof(Functions.Chatty))!, null, codecs);
        using var processor = new SessionProcessor(
            new FunctionCatalog(new Dictionary<string, FunctionDescriptor> { ["Chatty"] = new("Chatty", "Chatty", "test", invoker) }, codecs),
            Options.Create(new UserCodeOptions { Token = "t" }),
            new RuntimeCounters(),
            loggerFactory,
            new TestApplicationLifetime());
        var input = Channel.CreateUnbounded<MemberMessage>();
        var output = new GatedOutput();
        var session = processor.RunAsync(input.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), output, CancellationToken.None);

        await input.Writer.WriteAsync(new MemberMessage { Init = new Init { ProtocolVersion = ProtocolContract.Version, Token = "t", Function = "Chatty", ValueFormat = Format.Text } });
        Assert.NotNull((await output.ReadAsync()).Ready);

        // The member stops reading: every write after Ready waits. The function logs far more than
        // the output queue holds, and must still return.
        var batch = new Batch { Id = 1, Items = { new Item { Value = ByteString.CopyFromUtf8("x") } } };
        await input.Writer.WriteAsync(new MemberMessage { Batch = batch });
        await Functions.Logged.Task.WaitAsync(Timeout);

        output.Open();
        var forwarded = 0;
        RuntimeMessage message;
        while ((message = await output.ReadAsync()).Result is null)
        {
            Assert.Equal(1UL, message.Log.BatchId);
            forwarded++;
        }

        Assert.Equal("x", Assert.Single(Assert.Single(message.Result.Results).Ok.Outputs_).Value.ToStringUtf8());
        Assert.InRange(forwarded, 1, SessionWriter.DefaultCapacity + 1);
        var dropped = Records - forwarded;

        await input.Writer.WriteAsync(new MemberMessage { Ping = new Ping { Nonce = 7 } });
        Assert.Equal((ulong)dropped, (await output.ReadAsync()).Pong.Stats.LogsDropped);

        input.Writer.TryComplete();
        await session.WaitAsync(Timeout);
        var warning = Assert.Single(logs.Entries, e => e.EventId.Id == 314);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"{dropped} log record(s) of Chatty were dropped", warning.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes Ready at once; every later write waits until <see cref="Open"/>.</summary>
    private sealed class GatedOutput : ISessionOutput
    {
        private readonly Channel<RuntimeMessage> _written = Channel.CreateUnbounded<RuntimeMessage>();
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _writes;

        public void Open() => _open.TrySetResult();

        public async Task<RuntimeMessage> ReadAsync() => await _written.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        public async ValueTask WriteAsync(RuntimeMessageBuffer frame, bool moreFollows, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _writes) > 1)
            {
                await _open.Task.WaitAsync(cancellationToken);
            }

            _written.Writer.TryWrite(frame.ToMessage());
        }
    }
}

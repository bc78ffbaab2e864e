using System.Threading.Channels;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// One session against a real <see cref="SessionProcessor"/>, in process: member messages in through a
/// channel, runtime messages out decoded, and the runtime's log captured.
/// </summary>
internal sealed class SessionHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Channel<MemberMessage> _in = Channel.CreateUnbounded<MemberMessage>();
    private readonly Channel<RuntimeMessage> _out = Channel.CreateUnbounded<RuntimeMessage>();
    private readonly ILoggerFactory _loggerFactory;
    private readonly SessionProcessor _processor;

    public SessionHarness(Type functions, PayloadCodecs codecs, params string[] names)
        : this(functions, codecs, new RuntimeCounters(), b => b.SetMinimumLevel(LogLevel.Debug), names)
    {
    }

    /// <summary>With the runtime's counters (and so its meter) and its log filters chosen by the test.</summary>
    public SessionHarness(Type functions, PayloadCodecs codecs, RuntimeCounters counters, Action<ILoggingBuilder> logging, params string[] names)
    {
        _loggerFactory = LoggerFactory.Create(b => logging(b.AddProvider(Logs)));
        var catalog = new Dictionary<string, FunctionDescriptor>();
        foreach (var name in names)
        {
            var invoker = FunctionInvokerFactory.Create(functions.GetMethod(name)!, null, codecs);
            catalog[name] = new FunctionDescriptor(name, name, "test", invoker);
        }

        _processor = new SessionProcessor(
            new FunctionCatalog(catalog, codecs),
            Options.Create(new UserCodeOptions { Token = "t" }),
            counters,
            _loggerFactory,
            new TestApplicationLifetime());
        Session = _processor.RunAsync(_in.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(_out.Writer), CancellationToken.None);
    }

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>Ends when the session does (it throws a refused session's RpcException).</summary>
    public Task Session { get; }

    public static Init InitFor(string function, Format valueFormat, string token = "t") => new()
    {
        ProtocolVersion = ProtocolContract.Version, Token = token, Function = function, KeyFormat = Format.Text, ValueFormat = valueFormat,
    };

    public async Task<Ready> InitAsync(Init init)
    {
        await SendAsync(new MemberMessage { Init = init });
        return (await ReadAsync()).Ready;
    }

    public ValueTask SendAsync(MemberMessage message) => _in.Writer.WriteAsync(message);

    public async Task<RuntimeMessage> ReadAsync() => await _out.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    /// <summary>Ends the member's stream and waits for the session to end.</summary>
    public async Task EndAsync()
    {
        _in.Writer.TryComplete();
        await Session.WaitAsync(Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        _in.Writer.TryComplete();
        try
        {
            await Session.WaitAsync(Timeout);
        }
        catch (Exception) when (Session.IsFaulted)
        {
            // A refused session ends with the refusal; the test asserted what it needed.
        }

        _processor.Dispose();
        _loggerFactory.Dispose();
    }

    private sealed class Output(ChannelWriter<RuntimeMessage> writer) : ISessionOutput
    {
        public ValueTask WriteAsync(RuntimeMessageBuffer message, bool moreFollows, CancellationToken cancellationToken) =>
            writer.WriteAsync(message.ToMessage(), cancellationToken);
    }
}

using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Hosting;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Benchmarks.Dispatch;

/// <summary>
/// The runtime's per-event cost with no transport: <see cref="Invoker"/> is the compiled invoker
/// alone (bind input, call, write output); <see cref="Session"/> adds the dispatcher (session read
/// loop, batch run, result building, the output channel). Allocated bytes per operation / Items =
/// bytes per event. The user code is the samples' <c>identity</c> (zero-copy ReadOnlyMemory).
/// </summary>
[MemoryDiagnoser]
public class DispatcherBenchmarks
{
    private SessionProcessor _processor = null!;
    private FunctionInvoker _invoker = null!;
    private InvocationContext _context = null!;
    private Batch _batch = null!;
    private Channel<MemberMessage> _in = null!;
    private Channel<RuntimeMessage> _out = null!;
    private Task _session = null!;
    private CancellationTokenSource _stop = null!;
    private ulong _nextId;

    [Params(1, 256)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var codecs = new PayloadCodecs();
        TransportRegistry.ConfigureCodecs(codecs);
        var catalog = UserCodeLoader.Load(SamplesPath(), NullLoggerFactory.Instance, codecs);
        _stop = new CancellationTokenSource();
        _processor = new SessionProcessor(catalog, Options.Create(new UserCodeOptions()), new RuntimeCounters(),
            NullLoggerFactory.Instance, new Lifetime(_stop.Token));
        catalog.TryGet("identity", out var identity);
        _invoker = identity.Invoker;

        var value = UnsafeByteOperations.UnsafeWrap(new byte[64]);
        var key = UnsafeByteOperations.UnsafeWrap(new byte[8]);
        _batch = new Batch();
        for (var i = 0; i < Items; i++)
        {
            _batch.Items.Add(new Item { Key = key, Value = value, Partition = i, Sequence = i });
        }

        var info = new SessionInfo
        {
            JobId = "j", JobName = "j", StageName = "s", FunctionName = "identity",
            KeyFormat = Format.Bytes, ValueFormat = Format.Bytes, Settings = new Dictionary<string, string>(),
        };
        _context = new InvocationContext(info, NullLogger.Instance, 1, CancellationToken.None);

        _in = Channel.CreateUnbounded<MemberMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _out = Channel.CreateUnbounded<RuntimeMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _session = _processor.RunAsync(_in.Reader.ReadAllAsync(), new ChannelOutput(_out.Writer), CancellationToken.None);
        _in.Writer.TryWrite(new MemberMessage { Init = new Init { ProtocolVersion = 1, Function = "identity", MaxInFlight = 1 } });
        var ready = _out.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        if (ready.KindCase != RuntimeMessage.KindOneofCase.Ready)
        {
            throw new InvalidOperationException("expected Ready, got " + ready);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _in.Writer.TryComplete();
        _session.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    /// <summary>The invoker over every item of the batch, as BatchRun calls it.</summary>
    [Benchmark]
    public int Invoker()
    {
        var outputs = 0;
        foreach (var item in _batch.Items)
        {
            _context.MoveTo(item);
            var pending = _invoker.InvokeAsync(_context);
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            outputs += _context.Outputs.Count;
        }

        return outputs;
    }

    /// <summary>One batch through the session processor: Batch in, BatchResult out.</summary>
    [Benchmark]
    public async Task<int> Session()
    {
        _batch.Id = ++_nextId;
        _in.Writer.TryWrite(new MemberMessage { Batch = _batch });
        while (true)
        {
            var message = await _out.Reader.ReadAsync().ConfigureAwait(false);
            if (message.KindCase == RuntimeMessage.KindOneofCase.Result)
            {
                return message.Result.Results.Count;
            }
        }
    }

    private static string SamplesPath()
    {
        var fromEnv = Environment.GetEnvironmentVariable("JEX_OUT");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); fromEnv is null && dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
            {
                fromEnv = Path.Combine(dir.FullName, "out");
            }
        }

        var samples = Path.Combine(fromEnv ?? "out", "samples");
        return Directory.Exists(samples) ? samples : throw new DirectoryNotFoundException($"'{samples}' is missing: run ./demo.sh build first (or set JEX_OUT)");
    }

    private sealed class ChannelOutput(ChannelWriter<RuntimeMessage> writer) : ISessionOutput
    {
        public ValueTask WriteAsync(RuntimeMessage message, CancellationToken cancellationToken) => writer.WriteAsync(message, cancellationToken);
    }

    private sealed class Lifetime(CancellationToken stopping) : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => stopping;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}

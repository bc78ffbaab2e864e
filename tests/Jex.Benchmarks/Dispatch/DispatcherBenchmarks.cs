using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Benchmarks.Dispatch;

/// <summary>
/// The runtime's per-event cost with no transport: <see cref="Invoker"/> is the compiled invoker
/// over a batch read in place (bind input, call, collect output) plus the result's encoding;
/// <see cref="Session"/> adds the dispatcher (reading the batch frame, session read loop, batch run,
/// the output channel); its input frame is encoded per batch, as a member would. Allocated bytes per operation / Items =
/// bytes per event. The user code is the samples' <c>identity</c> (zero-copy ReadOnlyMemory).
/// </summary>
[MemoryDiagnoser]
public class DispatcherBenchmarks
{
    private SessionProcessor _processor = null!;
    private FunctionInvoker _invoker = null!;
    private InvocationContext _context = null!;
    private Batch _batch = null!;
    private MemberMessageBuffer _frame = null!;
    private Channel<MemberMessageBuffer> _in = null!;
    private Channel<RuntimeMessageBuffer> _out = null!;
    private Task _session = null!;
    private TestApplicationLifetime _lifetime = null!;
    private ulong _nextId;

    [Params(1, 256)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var codecs = PayloadCodecs.CreateDefault();
        var catalog = UserCodeLoader.Load(TestPaths.Samples, NullLoggerFactory.Instance, codecs);
        _lifetime = new TestApplicationLifetime();
        _processor = new SessionProcessor(catalog, Options.Create(new UserCodeOptions()), new RuntimeCounters(),
            NullLoggerFactory.Instance, _lifetime);
        catalog.TryGet("identity", out var identity);
        _invoker = identity.Invoker;

        var value = UnsafeByteOperations.UnsafeWrap(new byte[64]);
        var key = UnsafeByteOperations.UnsafeWrap(new byte[8]);
        _batch = new Batch();
        for (var i = 0; i < Items; i++)
        {
            _batch.Items.Add(new Item { Key = key, Value = value, Partition = i, Sequence = i });
        }

        _frame = MemberMessageBuffer.From(new MemberMessage { Batch = _batch });
        _frame.Parse();
        var info = new SessionInfo
        {
            JobId = "j", JobName = "j", StageName = "s", FunctionName = "identity",
            KeyFormat = Format.Bytes, ValueFormat = Format.Bytes, Settings = new Dictionary<string, string>(),
        };
        _context = new InvocationContext(info, NullLogger.Instance, 1, CancellationToken.None);

        _in = Channel.CreateUnbounded<MemberMessageBuffer>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _out = Channel.CreateUnbounded<RuntimeMessageBuffer>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _session = _processor.RunAsync(_in.Reader.ReadAllAsync(), new ChannelOutput(_out.Writer), CancellationToken.None);
        _in.Writer.TryWrite(MemberMessageBuffer.From(new MemberMessage { Init = new Init { ProtocolVersion = 1, Function = "identity", MaxInFlight = 1 } }));
        var ready = _out.Reader.ReadAsync().AsTask().GetAwaiter().GetResult().ToMessage();
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
        _lifetime.Dispose();
    }

    /// <summary>The invoker over every item of the batch and the result's encoding, as BatchRun does them.</summary>
    [Benchmark]
    public int Invoker()
    {
        var result = new BatchResultWriter(1, _frame.BatchBytes);
        foreach (ref readonly var item in _frame.Items)
        {
            _context.MoveTo(_frame, item);
            var pending = _invoker.InvokeAsync(_context);
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            result.AddOk(_context.Outputs);
        }

        var frame = result.Finish(1);
        var length = frame.Length;
        frame.Release();
        return length;
    }

    /// <summary>One batch through the session processor: Batch in, BatchResult out.</summary>
    [Benchmark]
    public async Task<int> Session()
    {
        _batch.Id = ++_nextId;
        _in.Writer.TryWrite(MemberMessageBuffer.From(new MemberMessage { Batch = _batch }));
        var frame = await _out.Reader.ReadAsync().ConfigureAwait(false);
        var length = frame.Length;
        frame.Release();
        return length;
    }

    /// <summary>Hands each frame on; the session releases it once the write completes, so it is copied.</summary>
    private sealed class ChannelOutput(ChannelWriter<RuntimeMessageBuffer> writer) : ISessionOutput
    {
        public ValueTask WriteAsync(RuntimeMessageBuffer frame, bool moreFollows, CancellationToken cancellationToken)
        {
            var copy = new byte[frame.Length];
            frame.Span.CopyTo(copy);
            return writer.WriteAsync(new RuntimeMessageBuffer(copy, 0, copy.Length), cancellationToken);
        }
    }
}

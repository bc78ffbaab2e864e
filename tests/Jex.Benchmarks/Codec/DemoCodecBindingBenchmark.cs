using System.Globalization;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Jex.Runtime.UserCode.Hazelcast;
using Jex.UserCode.Compact;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Benchmarks.Codec;

/// <summary>
/// The demo through the runtime's binding, as a function sees it: Compact <c>some-thing</c> bytes
/// to a <c>[CompactType]</c> POCO, the user's transform, the result POCO to <c>other-thing</c> bytes
/// in a ByteString. Allowed allocations: the two POCOs, the user's string, and the output bytes the
/// protocol message owns (byte[] and ByteString).
/// Run: dotnet run -c Release --project tests/Jex.Benchmarks -- --filter '*DemoCodec*' --job short
/// </summary>
[MemoryDiagnoser]
public class DemoCodecBindingBenchmark
{
    private readonly Schema _someThing = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private PayloadBinder<SomeThing> _read = null!;
    private PayloadBinder<OtherThing> _write = null!;
    private InvocationContext _context = null!;
    private ByteString _input = ByteString.Empty;
    private readonly Item _item = new();

    [GlobalSetup]
    public void Setup()
    {
        var codecs = new PayloadCodecs();
        var binding = new HazelcastBinding(codecs);
        codecs.Hazelcast = binding;
        _read = codecs.BinderFor<SomeThing>();
        _write = codecs.BinderFor<OtherThing>();
        var session = new SessionInfo
        {
            JobId = "bench",
            JobName = "bench",
            StageName = "stage",
            FunctionName = "doThingDotnet",
            KeyFormat = Format.Hazelcast,
            ValueFormat = Format.Hazelcast,
            Settings = new Dictionary<string, string>(),
            Format = binding.StartSession(),
        };
        session.Format.AcceptSchemas(new Schemas { Schemas_ = { SchemaMessages.ToProto(_someThing) } });
        _context = new InvocationContext(session, NullLogger.Instance, 1, CancellationToken.None);
        _input = ByteString.CopyFrom(HazelcastSerializer.Serialize(new CompactRecord(_someThing, [20])));
    }

    [Benchmark]
    public int BindTransformWrite()
    {
        // Each item starts with an empty output arena, as in a batch.
        _context.MoveTo(_item);
        var input = _read.Read(_input.Memory, Format.Hazelcast, _context);
        var result = new OtherThing { Value = "__" + input.Value.ToString(CultureInfo.InvariantCulture) + "__" };
        return _write.Write(result, Format.Hazelcast, _context, out _).Length;
    }

    [CompactType("some-thing")]
    public sealed class SomeThing
    {
        public int Value { get; set; }
    }

    [CompactType("other-thing")]
    public sealed class OtherThing
    {
        public string? Value { get; set; }
    }
}

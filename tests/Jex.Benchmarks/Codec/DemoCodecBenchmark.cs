using System.Globalization;
using BenchmarkDotNet.Attributes;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;

namespace Jex.Benchmarks.Codec;

/// <summary>
/// Decode + encode of JEX's demo: Compact <c>some-thing {value: int32}</c> in, <c>other-thing
/// {value: string}</c> out, on the typed path (reused reader and writer, pooled output buffer).
/// The only allocation should be the user's own string.
/// Run: dotnet run -c Release --project tests/Jex.Benchmarks -- --filter '*DemoCodec*' --memory
/// </summary>
[MemoryDiagnoser]
public class DemoCodecBenchmark
{
    private readonly SchemaRegistry _schemas = new();
    private readonly Schema _someThing = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private readonly Schema _otherThing = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);
    private readonly CompactReader _reader = new();
    private readonly CompactWriter _writer = new();
    private readonly BufferWriter _output = new(256);
    private byte[] _input = [];

    [GlobalSetup]
    public void Setup()
    {
        _schemas.Register(_someThing);
        _schemas.Register(_otherThing);
        _input = HazelcastSerializer.Serialize(new CompactRecord(_someThing, [20]));
    }

    [GlobalCleanup]
    public void Cleanup() => _output.Dispose();

    [Benchmark]
    public int DecodeTransformEncode()
    {
        if (HazelcastSerializer.ReadTypeId(_input) != TypeIds.Compact)
        {
            throw new InvalidOperationException("not compact");
        }

        _reader.Reset(_input, HazelcastSerializer.HeaderSize, _schemas);
        int value = _reader.ReadInt32("value");

        // The user's function: its string is the one allocation this path is allowed.
        string result = "__" + value.ToString(CultureInfo.InvariantCulture) + "__";

        _output.Reset();
        _output.WriteInt32(0);
        _output.WriteInt32(TypeIds.Compact);
        _output.WriteInt64(_otherThing.Id);
        _writer.Begin(_output, _otherThing);
        _writer.WriteString("value", result);
        _writer.End();
        return _output.Position;
    }

    [Benchmark]
    public int DecodeOnly()
    {
        _reader.Reset(_input, HazelcastSerializer.HeaderSize, _schemas);
        return _reader.ReadInt32("value");
    }
}

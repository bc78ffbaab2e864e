using System.Diagnostics;
using FsCheck.Xunit;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;

namespace Jex.Hazelcast.Tests;

public sealed class PropertyTests
{
    [Property(MaxTest = 300)]
    public bool Compact_EncodeThenDecode_ReturnsTheSameRecord(int seed)
    {
        var record = new RandomValues(seed).Record();
        var registry = new SchemaRegistry();
        RandomValues.RegisterAll(registry, record);
        var bytes = HazelcastSerializer.Serialize(record);
        var decoded = HazelcastSerializer.Deserialize(bytes, registry);
        return ValueComparer.AreEqual(record, decoded, out var difference) ? true : throw new InvalidOperationException($"seed {seed}: {difference}");
    }

    [Property(MaxTest = 300)]
    public bool Compact_DecodeThenEncode_IsByteIdentical(int seed)
    {
        var record = new RandomValues(seed).Record();
        var registry = new SchemaRegistry();
        RandomValues.RegisterAll(registry, record);
        var bytes = HazelcastSerializer.Serialize(record);
        return bytes.AsSpan().SequenceEqual(HazelcastSerializer.Serialize(HazelcastSerializer.Deserialize(bytes, registry)));
    }

    [Property(MaxTest = 200)]
    public bool BuiltIns_EncodeThenDecode_ReturnsTheSameValue(long l, int i, short s, sbyte b, double d, float f, string? text, bool flag, Guid g, char c, int[] ints, string?[]? texts)
    {
        object?[] values = [l, i, s, b, d, f, text, flag, g, c, ints, texts, null, new byte[] { 1, 2 }];
        foreach (var v in values)
        {
            var back = HazelcastSerializer.Deserialize(HazelcastSerializer.Serialize(v), new SchemaRegistry());
            if (!ValueComparer.AreEqual(v, back, out var difference))
            {
                throw new InvalidOperationException(difference);
            }
        }

        return true;
    }

    [Property(MaxTest = 2000)]
    public bool ArbitraryBytes_OnlyEverThrowTheCodecException(byte[] payload, int typeIdChoice)
    {
        int[] typeIds = [0, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -20, -21, -55, -130, 12345];
        var data = new byte[8 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), typeIds[(int)((uint)typeIdChoice % typeIds.Length)]);
        payload.CopyTo(data, 8);
        return DecodesOrThrowsCodecException(data, VectorFile.Current.Registry);
    }

    [Property(MaxTest = 500)]
    public bool CorruptedVectors_OnlyEverThrowTheCodecException(int vectorChoice, int position, byte value, int truncateAt)
    {
        var vectors = VectorFile.Current.Vectors;
        var bytes = (byte[])vectors[(int)((uint)vectorChoice % vectors.Count)].Bytes.Clone();
        bytes[(8 + (int)((uint)position % (uint)Math.Max(1, bytes.Length - 8))) % bytes.Length] = value;
        int length = (int)((uint)truncateAt % (uint)(bytes.Length + 1));
        return DecodesOrThrowsCodecException(bytes, VectorFile.Current.Registry) && DecodesOrThrowsCodecException(bytes.AsMemory(0, length), VectorFile.Current.Registry);
    }

    [Fact]
    public void EveryTruncationOfEveryVector_ThrowsTheCodecException()
    {
        foreach (var v in VectorFile.Current.Vectors)
        {
            for (int length = 0; length < v.Bytes.Length; length += Math.Max(1, v.Bytes.Length / 64))
            {
                var ex = Record.Exception(() => HazelcastSerializer.Deserialize(v.Bytes.AsMemory(0, length), VectorFile.Current.Registry));
                // A shorter prefix may still be a complete value only when the tail was unused; most are not.
                Assert.True(ex is null or HazelcastCodecException, $"{v.Name} cut to {length} bytes threw {ex}");
            }
        }
    }

    [Theory]
    [InlineData("00000000fffffff07fffffff00000001", "int[] claiming 2^31-1 items")]
    [InlineData("00000000fffffff47fffffff", "byte[] claiming 2^31-1 bytes")]
    [InlineData("00000000ffffffec7fffffff", "string[] claiming 2^31-1 items")]
    [InlineData("00000000fffffff57ffffff0616263", "string claiming 2 GiB")]
    public void CorruptLengths_AreRefusedWithoutAllocatingForThem(string hex, string what)
    {
        var bytes = Convert.FromHexString(hex);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<HazelcastCodecException>(() => HazelcastSerializer.Deserialize(bytes, new SchemaRegistry()));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64 * 1024, $"{what}: allocated {allocated} bytes before refusing ({ex.Message})");
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CompactArrayWithCorruptCount_IsRefusedWithoutAllocatingForIt()
    {
        var schema = new Schema("arrays", [new FieldDescriptor("v", FieldKind.ARRAY_OF_NULLABLE_INT64)]);
        var registry = new SchemaRegistry();
        registry.Register(schema);
        var bytes = HazelcastSerializer.Serialize(new CompactRecord(schema, [new long?[] { 1, null, 3 }]));
        // Body: schema id (8) then data length (4); the field's item count follows its own 4-byte data length.
        int countAt = 8 + 8 + 4 + 4;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(countAt), int.MaxValue);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<HazelcastCodecException>(() => HazelcastSerializer.Deserialize(bytes, registry));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void SelfReferencingNestedOffsets_AreRefusedNotRecursedForever()
    {
        var schema = new Schema("loop", [new FieldDescriptor("next", FieldKind.COMPACT)]);
        var registry = new SchemaRegistry();
        registry.Register(schema);
        // Data length 13 = the nested object's schema id (8) + its own data length (4) + offset (1):
        // the nested object's offset 0 points back at itself.
        var body = new BufferWriter();
        body.WriteInt32(0);
        body.WriteInt32(TypeIds.Compact);
        body.WriteInt64(schema.Id);
        body.WriteInt32(0); // outer data length, 0 fixed bytes; next at offset 0
        body.WriteInt64(schema.Id);
        body.WriteInt32(0);
        body.WriteByte(0);
        body.WriteByte(0);
        var bytes = body.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), 13);
        var watch = Stopwatch.StartNew();
        var ex = Record.Exception(() => HazelcastSerializer.Deserialize(bytes, registry));
        Assert.True(ex is HazelcastCodecException, $"threw {ex}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    private static bool DecodesOrThrowsCodecException(ReadOnlyMemory<byte> data, ISchemaLookup registry)
    {
        var task = Task.Run(() =>
        {
            try
            {
                var value = HazelcastSerializer.Deserialize(data, registry);
                _ = Json.HazelcastJson.ToJson(value);
                return true;
            }
            catch (HazelcastCodecException)
            {
                return true;
            }
        });
        if (!task.Wait(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"decoding {Convert.ToHexString(data.Span)} did not finish in 10 s");
        }

        return task.Result;
    }
}

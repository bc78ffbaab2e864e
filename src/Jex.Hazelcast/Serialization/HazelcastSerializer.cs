using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Values;

namespace Jex.Hazelcast.Serialization;

/// <summary>
/// Hazelcast <c>Data</c>: a big-endian int32 partition hash, an int32 type id, then the payload.
/// Maps the built-in types a map journal carries to CLR values and back:
/// null, bool, sbyte (byte), char, short, int, long, float, double, string, byte[], <see cref="Guid"/>
/// (UUID), <see cref="HazelcastJsonValue"/>, <see cref="CompactRecord"/>, and arrays bool[], char[],
/// short[], int[], long[], float[], double[], string?[].
/// </summary>
internal static class HazelcastSerializer
{
    public const int HeaderSize = 8;

    public static int ReadTypeId(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize)
        {
            ThrowHelper.Invalid($"truncated data: {data.Length} byte(s), but Hazelcast data has at least {HeaderSize} (partition hash and type id)");
        }

        return BigEndian.ReadInt32(data, 4);
    }

    /// <summary>Decodes one <c>Data</c> value. Compact values need their schema in <paramref name="schemas"/>.</summary>
    public static object? Deserialize(ReadOnlyMemory<byte> data, ISchemaLookup schemas)
    {
        var span = data.Span;
        int typeId = ReadTypeId(span);
        const int p = HeaderSize;
        object? value = typeId switch
        {
            TypeIds.Null => null,
            TypeIds.Boolean => BigEndian.ReadByte(span, p) != 0,
            TypeIds.Byte => (sbyte)BigEndian.ReadByte(span, p),
            TypeIds.Char => (char)BigEndian.ReadInt16(span, p),
            TypeIds.Short => BigEndian.ReadInt16(span, p),
            TypeIds.Integer => BigEndian.ReadInt32(span, p),
            TypeIds.Long => BigEndian.ReadInt64(span, p),
            TypeIds.Float => BigEndian.ReadFloat32(span, p),
            TypeIds.Double => BigEndian.ReadFloat64(span, p),
            TypeIds.String => ReadNullableString(span, p),
            TypeIds.JsonValue => ReadNullableString(span, p) is { } json ? new HazelcastJsonValue(json) : null,
            TypeIds.ByteArray => ReadArray(span, p, 1, static (s, i) => s[i]),
            TypeIds.BooleanArray => ReadArray(span, p, 1, static (s, i) => s[i] != 0),
            TypeIds.CharArray => ReadArray(span, p, 2, static (s, i) => (char)BigEndian.ReadInt16(s, i)),
            TypeIds.ShortArray => ReadArray(span, p, 2, static (s, i) => BigEndian.ReadInt16(s, i)),
            TypeIds.IntegerArray => ReadArray(span, p, 4, static (s, i) => BigEndian.ReadInt32(s, i)),
            TypeIds.LongArray => ReadArray(span, p, 8, static (s, i) => BigEndian.ReadInt64(s, i)),
            TypeIds.FloatArray => ReadArray(span, p, 4, static (s, i) => BigEndian.ReadFloat32(s, i)),
            TypeIds.DoubleArray => ReadArray(span, p, 8, static (s, i) => BigEndian.ReadFloat64(s, i)),
            TypeIds.StringArray => ReadStringArray(span, p),
            TypeIds.Uuid => ReadUuid(span, p),
            TypeIds.Compact => ReadCompact(data, schemas),
            _ => ThrowHelper.Invalid<object>($"unknown or unsupported type id {typeId} ({TypeIds.Describe(typeId)})"),
        };
        return value;
    }

    private static CompactRecord ReadCompact(ReadOnlyMemory<byte> data, ISchemaLookup schemas)
    {
        var reader = new CompactReader();
        reader.Reset(data, HeaderSize, schemas);
        return reader.ReadRecord();
    }

    private static string? ReadNullableString(ReadOnlySpan<byte> span, int position) =>
        BigEndian.ReadInt32(span, position) == -1 ? null : CompactReader.ReadStringAt(span, position, out _);

    private delegate T FixedReader<out T>(ReadOnlySpan<byte> span, int position);

    private static T[]? ReadArray<T>(ReadOnlySpan<byte> span, int position, int size, FixedReader<T> read)
    {
        int count = BigEndian.ReadInt32(span, position);
        if (count == -1)
        {
            return null;
        }

        BigEndian.RequireItems(span, position + 4, count, size);
        var result = new T[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = read(span, position + 4 + (i * size));
        }

        return result;
    }

    private static string?[]? ReadStringArray(ReadOnlySpan<byte> span, int position)
    {
        int count = BigEndian.ReadInt32(span, position);
        if (count == -1)
        {
            return null;
        }

        // Each item takes at least its 4-byte length: bound the allocation by the bytes present.
        BigEndian.RequireItems(span, position + 4, count, 4);
        var result = new string?[count];
        int at = position + 4;
        for (int i = 0; i < count; i++)
        {
            int length = BigEndian.ReadInt32(span, at);
            if (length == -1)
            {
                at += 4;
                continue;
            }

            result[i] = CompactReader.ReadStringAt(span, at, out at);
        }

        return result;
    }

    private static Guid ReadUuid(ReadOnlySpan<byte> span, int position)
    {
        BigEndian.Require(span, position, 16);
        // Java writes most- then least-significant long, big-endian: the canonical byte order.
        return new Guid(span.Slice(position, 16), bigEndian: true);
    }

    /// <summary>Encodes a value as <c>Data</c> into <paramref name="output"/>, with partition hash 0 (as clients write it).</summary>
    public static void Serialize(object? value, BufferWriter output)
    {
        output.WriteInt32(0);
        switch (value)
        {
            case null: output.WriteInt32(TypeIds.Null); break;
            case bool b: output.WriteInt32(TypeIds.Boolean); output.WriteBoolean(b); break;
            case sbyte sb: output.WriteInt32(TypeIds.Byte); output.WriteByte((byte)sb); break;
            case char c: output.WriteInt32(TypeIds.Char); output.WriteUInt16(c); break;
            case short s: output.WriteInt32(TypeIds.Short); output.WriteInt16(s); break;
            case int i: output.WriteInt32(TypeIds.Integer); output.WriteInt32(i); break;
            case long l: output.WriteInt32(TypeIds.Long); output.WriteInt64(l); break;
            case float f: output.WriteInt32(TypeIds.Float); output.WriteFloat32(f); break;
            case double d: output.WriteInt32(TypeIds.Double); output.WriteFloat64(d); break;
            case string str: output.WriteInt32(TypeIds.String); output.WriteString(str); break;
            case HazelcastJsonValue json: output.WriteInt32(TypeIds.JsonValue); output.WriteString(json.Text); break;
            case byte[] bytes when value.GetType() == typeof(byte[]): output.WriteInt32(TypeIds.ByteArray); output.WriteByteArray(bytes); break;
            case ReadOnlyMemory<byte> memory: output.WriteInt32(TypeIds.ByteArray); output.WriteByteArray(memory.Span); break;
            case Guid uuid:
                output.WriteInt32(TypeIds.Uuid);
                Span<byte> raw = stackalloc byte[16];
                uuid.TryWriteBytes(raw, bigEndian: true, out _);
                output.WriteBytes(raw);
                break;
            case bool[] a: output.WriteInt32(TypeIds.BooleanArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteBoolean(v); } break;
            case char[] a: output.WriteInt32(TypeIds.CharArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteUInt16(v); } break;
            case short[] a: output.WriteInt32(TypeIds.ShortArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteInt16(v); } break;
            case int[] a: output.WriteInt32(TypeIds.IntegerArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteInt32(v); } break;
            case long[] a: output.WriteInt32(TypeIds.LongArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteInt64(v); } break;
            case float[] a: output.WriteInt32(TypeIds.FloatArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteFloat32(v); } break;
            case double[] a: output.WriteInt32(TypeIds.DoubleArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteFloat64(v); } break;
            case string?[] a: output.WriteInt32(TypeIds.StringArray); output.WriteInt32(a.Length); foreach (var v in a) { output.WriteString(v); } break;
            case CompactRecord record: WriteCompact(record, output); break;
            default: ThrowHelper.Invalid($"a {value.GetType().Name} has no Hazelcast built-in encoding"); break;
        }
    }

    public static byte[] Serialize(object? value)
    {
        using var output = new BufferWriter();
        Serialize(value, output);
        return output.ToArray();
    }

    private static void WriteCompact(CompactRecord record, BufferWriter output)
    {
        output.WriteInt32(TypeIds.Compact);
        output.WriteInt64(record.Schema.Id);
        var writer = new CompactWriter();
        writer.Begin(output, record.Schema);
        writer.WriteRecord(record);
        writer.End();
    }
}

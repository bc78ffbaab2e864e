using System.Numerics;
using System.Runtime.CompilerServices;
using Jex.Hazelcast.Serialization;
using Jex.Hazelcast.Values;

namespace Jex.Hazelcast.Compact;

/// <summary>
/// Reads one Compact object with the writer's schema. Reusable: <c>Reset</c> points it at
/// another object, so a typed binding can read without allocating. Every position and length is
/// checked against the data before use; nothing is allocated in proportion to a length field
/// before the bytes it announces are known to be there.
/// </summary>
internal sealed class CompactReader
{
    /// <summary>Deeper nesting than this is treated as corrupt data (a cycle of offsets), not recursed into.</summary>
    public const int MaxDepth = 64;

    private const int ByteOffsetLimit = 255;
    private const int ShortOffsetLimit = 65535;

    private ReadOnlyMemory<byte> _data;
    private ISchemaLookup _schemas = null!;
    private int _dataStart;
    private int _dataLength;
    private int _offsetsPosition;
    private int _offsetWidth;
    private int _depth;

    public Schema Schema { get; private set; } = null!;

    /// <summary>Where the object (after its schema id) ended, for a reader of what follows it.</summary>
    public int End { get; private set; }

    /// <summary>Reads the schema id at <paramref name="position"/>, finds the schema and prepares to read the object after it.</summary>
    public void Reset(ReadOnlyMemory<byte> data, int position, ISchemaLookup schemas, int depth = 0)
    {
        long schemaId = BigEndian.ReadInt64(data.Span, position);
        if (!schemas.TryGet(schemaId, out var schema))
        {
            throw new UnknownSchemaException(schemaId);
        }

        Reset(data, position + 8, schema, schemas, depth);
    }

    public void Reset(ReadOnlyMemory<byte> data, int bodyPosition, Schema schema, ISchemaLookup schemas, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            ThrowHelper.Invalid($"Compact objects nested deeper than {MaxDepth} levels at offset {bodyPosition}: corrupt offsets?");
        }

        var span = data.Span;
        _data = data;
        _schemas = schemas;
        _depth = depth;
        Schema = schema;
        if (schema.VariableSizeCount == 0)
        {
            BigEndian.Require(span, bodyPosition, schema.FixedSizeLength);
            _dataStart = bodyPosition;
            _dataLength = schema.FixedSizeLength;
            _offsetsPosition = 0;
            _offsetWidth = 0;
            End = bodyPosition + schema.FixedSizeLength;
            return;
        }

        int dataLength = BigEndian.ReadInt32(span, bodyPosition);
        _dataStart = bodyPosition + 4;
        if (dataLength < schema.FixedSizeLength)
        {
            ThrowHelper.Invalid($"'{schema.TypeName}': data length {dataLength} at offset {bodyPosition} is shorter than its {schema.FixedSizeLength} fixed-size byte(s)");
        }

        BigEndian.Require(span, _dataStart, dataLength);
        _dataLength = dataLength;
        _offsetsPosition = _dataStart + dataLength;
        _offsetWidth = OffsetWidth(dataLength);
        BigEndian.RequireItems(span, _offsetsPosition, schema.VariableSizeCount, _offsetWidth);
        End = _offsetsPosition + (schema.VariableSizeCount * _offsetWidth);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int OffsetWidth(int dataLength) => dataLength < ByteOffsetLimit ? 1 : dataLength < ShortOffsetLimit ? 2 : 4;

    private static int ReadOffset(ReadOnlySpan<byte> span, int tablePosition, int index, int width) => width switch
    {
        1 => span[tablePosition + index] is var b && b == 0xFF ? -1 : b,
        2 => BigEndian.ReadInt16(span, tablePosition + (index * 2)) is var s && s == -1 ? -1 : s & 0xFFFF,
        _ => BigEndian.ReadInt32(span, tablePosition + (index * 4)),
    };

    /// <summary>The field by name; a field the writer's schema does not have is an error naming it.</summary>
    public FieldDescriptor GetField(string name) =>
        Schema.Find(name) ?? ThrowHelper.Invalid<FieldDescriptor>($"field '{name}' is not in the writer's schema of '{Schema.TypeName}' (schema id {Schema.Id})");

    public FieldDescriptor GetField(string name, FieldKind kind, FieldKind nullableKind)
    {
        var field = GetField(name);
        if (field.Kind != kind && field.Kind != nullableKind)
        {
            ThrowHelper.Invalid($"field '{name}' of '{Schema.TypeName}' is {field.Kind}, not {kind}");
        }

        return field;
    }

    /// <summary>Absolute position of a variable-size field's data, or -1 when it is null.</summary>
    private int VariablePosition(FieldDescriptor field)
    {
        var span = _data.Span;
        int offset = ReadOffset(span, _offsetsPosition, field.Index, _offsetWidth);
        if (offset == -1)
        {
            return -1;
        }

        if (offset < 0 || offset >= _dataLength)
        {
            ThrowHelper.Invalid($"field '{field.Name}' of '{Schema.TypeName}' has offset {offset} outside its {_dataLength}-byte data");
        }

        return _dataStart + offset;
    }

    private int FixedPosition(FieldDescriptor field) => _dataStart + field.Offset;

    private int NonNullPosition(FieldDescriptor field)
    {
        int position = VariablePosition(field);
        if (position < 0)
        {
            ThrowHelper.Invalid($"field '{field.Name}' of '{Schema.TypeName}' is null, but a non-null value was asked for");
        }

        return position;
    }

    public bool ReadBoolean(string name)
    {
        var f = GetField(name, FieldKind.BOOLEAN, FieldKind.NULLABLE_BOOLEAN);
        return f.Kind == FieldKind.BOOLEAN ? ReadBooleanBit(f) : BigEndian.ReadByte(_data.Span, NonNullPosition(f)) != 0;
    }

    private bool ReadBooleanBit(FieldDescriptor f) => (_data.Span[FixedPosition(f)] & (1 << f.BitOffset)) != 0;

    public sbyte ReadInt8(string name)
    {
        var f = GetField(name, FieldKind.INT8, FieldKind.NULLABLE_INT8);
        return (sbyte)BigEndian.ReadByte(_data.Span, f.Kind == FieldKind.INT8 ? FixedPosition(f) : NonNullPosition(f));
    }

    public short ReadInt16(string name)
    {
        var f = GetField(name, FieldKind.INT16, FieldKind.NULLABLE_INT16);
        return BigEndian.ReadInt16(_data.Span, f.Kind == FieldKind.INT16 ? FixedPosition(f) : NonNullPosition(f));
    }

    public int ReadInt32(string name)
    {
        var f = GetField(name, FieldKind.INT32, FieldKind.NULLABLE_INT32);
        return BigEndian.ReadInt32(_data.Span, f.Kind == FieldKind.INT32 ? FixedPosition(f) : NonNullPosition(f));
    }

    public long ReadInt64(string name)
    {
        var f = GetField(name, FieldKind.INT64, FieldKind.NULLABLE_INT64);
        return BigEndian.ReadInt64(_data.Span, f.Kind == FieldKind.INT64 ? FixedPosition(f) : NonNullPosition(f));
    }

    public float ReadFloat32(string name)
    {
        var f = GetField(name, FieldKind.FLOAT32, FieldKind.NULLABLE_FLOAT32);
        return BigEndian.ReadFloat32(_data.Span, f.Kind == FieldKind.FLOAT32 ? FixedPosition(f) : NonNullPosition(f));
    }

    public double ReadFloat64(string name)
    {
        var f = GetField(name, FieldKind.FLOAT64, FieldKind.NULLABLE_FLOAT64);
        return BigEndian.ReadFloat64(_data.Span, f.Kind == FieldKind.FLOAT64 ? FixedPosition(f) : NonNullPosition(f));
    }

    public string? ReadString(string name)
    {
        var f = GetField(name, FieldKind.STRING, FieldKind.STRING);
        int position = VariablePosition(f);
        return position < 0 ? null : ReadStringAt(_data.Span, position, out _);
    }

    /// <summary>Reads every field into a <see cref="CompactRecord"/>.</summary>
    public CompactRecord ReadRecord()
    {
        var values = new object?[Schema.Fields.Count];
        foreach (var f in Schema.Fields)
        {
            values[f.Ordinal] = ReadField(f);
        }

        return new CompactRecord(Schema, values);
    }

    public object? ReadField(string name) => ReadField(GetField(name));

    /// <summary>Reads a field as its generic value (see <see cref="CompactRecord"/> for the CLR types).</summary>
    public object? ReadField(FieldDescriptor f)
    {
        var span = _data.Span;
        switch (f.Kind)
        {
            case FieldKind.BOOLEAN: return ReadBooleanBit(f);
            case FieldKind.INT8: return (sbyte)BigEndian.ReadByte(span, FixedPosition(f));
            case FieldKind.INT16: return BigEndian.ReadInt16(span, FixedPosition(f));
            case FieldKind.INT32: return BigEndian.ReadInt32(span, FixedPosition(f));
            case FieldKind.INT64: return BigEndian.ReadInt64(span, FixedPosition(f));
            case FieldKind.FLOAT32: return BigEndian.ReadFloat32(span, FixedPosition(f));
            case FieldKind.FLOAT64: return BigEndian.ReadFloat64(span, FixedPosition(f));
        }

        int p = VariablePosition(f);
        if (p < 0)
        {
            return null;
        }

        return f.Kind switch
        {
            FieldKind.STRING => ReadStringAt(span, p, out _),
            FieldKind.DECIMAL => ReadDecimal(span, p, out _),
            FieldKind.TIME => ReadTime(span, p, out _),
            FieldKind.DATE => ReadDate(span, p, out _),
            FieldKind.TIMESTAMP => ReadTimestamp(span, p, out _),
            FieldKind.TIMESTAMP_WITH_TIMEZONE => ReadTimestampWithTimezone(span, p, out _),
            FieldKind.COMPACT => ReadNested(p),
            FieldKind.NULLABLE_BOOLEAN => BigEndian.ReadByte(span, p) != 0,
            FieldKind.NULLABLE_INT8 => (sbyte)BigEndian.ReadByte(span, p),
            FieldKind.NULLABLE_INT16 => BigEndian.ReadInt16(span, p),
            FieldKind.NULLABLE_INT32 => BigEndian.ReadInt32(span, p),
            FieldKind.NULLABLE_INT64 => BigEndian.ReadInt64(span, p),
            FieldKind.NULLABLE_FLOAT32 => BigEndian.ReadFloat32(span, p),
            FieldKind.NULLABLE_FLOAT64 => BigEndian.ReadFloat64(span, p),
            FieldKind.ARRAY_OF_BOOLEAN => ReadBooleanBits(span, p),
            FieldKind.ARRAY_OF_INT8 => ReadFixedArray(span, p, 1, static (s, i) => (sbyte)s[i]),
            FieldKind.ARRAY_OF_INT16 => ReadFixedArray(span, p, 2, static (s, i) => BigEndian.ReadInt16(s, i)),
            FieldKind.ARRAY_OF_INT32 => ReadFixedArray(span, p, 4, static (s, i) => BigEndian.ReadInt32(s, i)),
            FieldKind.ARRAY_OF_INT64 => ReadFixedArray(span, p, 8, static (s, i) => BigEndian.ReadInt64(s, i)),
            FieldKind.ARRAY_OF_FLOAT32 => ReadFixedArray(span, p, 4, static (s, i) => BigEndian.ReadFloat32(s, i)),
            FieldKind.ARRAY_OF_FLOAT64 => ReadFixedArray(span, p, 8, static (s, i) => BigEndian.ReadFloat64(s, i)),
            FieldKind.ARRAY_OF_STRING => ReadVariableArray<string>(p, static (r, s, i) => ReadStringAt(s, i, out _)),
            FieldKind.ARRAY_OF_DECIMAL => ReadVariableArray<HzDecimal?>(p, static (r, s, i) => ReadDecimal(s, i, out _)),
            FieldKind.ARRAY_OF_TIME => ReadVariableArray<HzLocalTime?>(p, static (r, s, i) => ReadTime(s, i, out _)),
            FieldKind.ARRAY_OF_DATE => ReadVariableArray<HzLocalDate?>(p, static (r, s, i) => ReadDate(s, i, out _)),
            FieldKind.ARRAY_OF_TIMESTAMP => ReadVariableArray<HzLocalDateTime?>(p, static (r, s, i) => ReadTimestamp(s, i, out _)),
            FieldKind.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE => ReadVariableArray<HzOffsetDateTime?>(p, static (r, s, i) => ReadTimestampWithTimezone(s, i, out _)),
            FieldKind.ARRAY_OF_COMPACT => ReadVariableArray<CompactRecord>(p, static (r, s, i) => r.ReadNested(i)),
            FieldKind.ARRAY_OF_NULLABLE_BOOLEAN => ReadVariableArray<bool?>(p, static (r, s, i) => BigEndian.ReadByte(s, i) != 0),
            FieldKind.ARRAY_OF_NULLABLE_INT8 => ReadVariableArray<sbyte?>(p, static (r, s, i) => (sbyte)BigEndian.ReadByte(s, i)),
            FieldKind.ARRAY_OF_NULLABLE_INT16 => ReadVariableArray<short?>(p, static (r, s, i) => BigEndian.ReadInt16(s, i)),
            FieldKind.ARRAY_OF_NULLABLE_INT32 => ReadVariableArray<int?>(p, static (r, s, i) => BigEndian.ReadInt32(s, i)),
            FieldKind.ARRAY_OF_NULLABLE_INT64 => ReadVariableArray<long?>(p, static (r, s, i) => BigEndian.ReadInt64(s, i)),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT32 => ReadVariableArray<float?>(p, static (r, s, i) => BigEndian.ReadFloat32(s, i)),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT64 => ReadVariableArray<double?>(p, static (r, s, i) => BigEndian.ReadFloat64(s, i)),
            _ => ThrowHelper.Invalid<object>($"field '{f.Name}' has unsupported kind {f.Kind}"),
        };
    }

    /// <summary>Reads a nested Compact object (schema id, then body) at an absolute position.</summary>
    public CompactRecord ReadNested(int position)
    {
        var nested = new CompactReader();
        nested.Reset(_data, position, _schemas, _depth + 1);
        return nested.ReadRecord();
    }

    private delegate T ItemReader<out T>(CompactReader reader, ReadOnlySpan<byte> span, int position);

    private delegate T FixedReader<out T>(ReadOnlySpan<byte> span, int position);

    private static T[] ReadFixedArray<T>(ReadOnlySpan<byte> span, int position, int size, FixedReader<T> read)
    {
        int count = BigEndian.ReadInt32(span, position);
        BigEndian.RequireItems(span, position + 4, count, size);
        var result = new T[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = read(span, position + 4 + (i * size));
        }

        return result;
    }

    private static bool[] ReadBooleanBits(ReadOnlySpan<byte> span, int position)
    {
        int count = BigEndian.ReadInt32(span, position);
        if (count < 0)
        {
            ThrowHelper.Invalid($"negative boolean array length {count} at offset {position}");
        }

        BigEndian.Require(span, position + 4, (int)(((long)count + 7) / 8));
        var result = new bool[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = (span[position + 4 + (i / 8)] & (1 << (i % 8))) != 0;
        }

        return result;
    }

    private T?[] ReadVariableArray<T>(int position, ItemReader<T> read)
    {
        var span = _data.Span;
        int dataLength = BigEndian.ReadInt32(span, position);
        int count = BigEndian.ReadInt32(span, position + 4);
        int itemsStart = position + 8;
        if (dataLength < 0 || count < 0)
        {
            ThrowHelper.Invalid($"negative array length (data {dataLength}, items {count}) at offset {position}");
        }

        BigEndian.Require(span, itemsStart, dataLength);
        int width = OffsetWidth(dataLength);
        int table = itemsStart + dataLength;
        BigEndian.RequireItems(span, table, count, width);
        var result = new T?[count];
        for (int i = 0; i < count; i++)
        {
            int offset = ReadOffset(span, table, i, width);
            if (offset == -1)
            {
                continue;
            }

            if (offset < 0 || offset >= dataLength)
            {
                ThrowHelper.Invalid($"array item {i} at offset {position} has offset {offset} outside its {dataLength}-byte data");
            }

            result[i] = read(this, _data.Span, itemsStart + offset);
        }

        return result;
    }

    internal static string ReadStringAt(ReadOnlySpan<byte> span, int position, out int end)
    {
        int length = BigEndian.ReadInt32(span, position);
        if (length < 0)
        {
            ThrowHelper.Invalid($"negative string length {length} at offset {position}");
        }

        BigEndian.Require(span, position + 4, length);
        end = position + 4 + length;
        return BufferWriter.DecodeUtf8(span.Slice(position + 4, length));
    }

    internal static HzDecimal ReadDecimal(ReadOnlySpan<byte> span, int position, out int end)
    {
        int length = BigEndian.ReadInt32(span, position);
        if (length <= 0)
        {
            ThrowHelper.Invalid($"decimal with {length} byte(s) of unscaled value at offset {position}");
        }

        BigEndian.Require(span, position + 4, length);
        var unscaled = new BigInteger(span.Slice(position + 4, length), isUnsigned: false, isBigEndian: true);
        int scale = BigEndian.ReadInt32(span, position + 4 + length);
        end = position + 8 + length;
        return new HzDecimal(unscaled, scale);
    }

    internal static HzLocalTime ReadTime(ReadOnlySpan<byte> span, int position, out int end)
    {
        BigEndian.Require(span, position, 7);
        byte h = span[position], m = span[position + 1], s = span[position + 2];
        int nano = BigEndian.ReadInt32(span, position + 3);
        if (h > 23 || m > 59 || s > 59 || nano is < 0 or > 999_999_999)
        {
            ThrowHelper.Invalid($"invalid time {h}:{m}:{s}.{nano} at offset {position}");
        }

        end = position + 7;
        return new HzLocalTime(h, m, s, nano);
    }

    internal static HzLocalDate ReadDate(ReadOnlySpan<byte> span, int position, out int end)
    {
        BigEndian.Require(span, position, 6);
        int year = BigEndian.ReadInt32(span, position);
        byte month = span[position + 4], day = span[position + 5];
        if (month is < 1 or > 12 || day is < 1 or > 31)
        {
            ThrowHelper.Invalid($"invalid date {year}-{month}-{day} at offset {position}");
        }

        end = position + 6;
        return new HzLocalDate(year, month, day);
    }

    internal static HzLocalDateTime ReadTimestamp(ReadOnlySpan<byte> span, int position, out int end)
    {
        var date = ReadDate(span, position, out int afterDate);
        var time = ReadTime(span, afterDate, out end);
        return new HzLocalDateTime(date, time);
    }

    internal static HzOffsetDateTime ReadTimestampWithTimezone(ReadOnlySpan<byte> span, int position, out int end)
    {
        var dateTime = ReadTimestamp(span, position, out int afterTime);
        int offset = BigEndian.ReadInt32(span, afterTime);
        if (offset is < -64800 or > 64800)
        {
            ThrowHelper.Invalid($"invalid zone offset {offset} s at offset {afterTime}");
        }

        end = afterTime + 4;
        return new HzOffsetDateTime(dateTime, offset);
    }
}

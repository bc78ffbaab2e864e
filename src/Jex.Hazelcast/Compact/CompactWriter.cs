using System.Buffers;
using System.Numerics;
using Jex.Hazelcast.Serialization;
using Jex.Hazelcast.Values;

namespace Jex.Hazelcast.Compact;

/// <summary>
/// Writes one Compact object body (without its schema id) for a schema, as Hazelcast's
/// <c>DefaultCompactWriter</c> does: fixed section reserved up front, variable-size data
/// appended in write order, then the offset table in the narrowest width that fits and the
/// data length patched in. Reusable through <see cref="Begin"/>; unset variable-size fields
/// are written as null.
/// </summary>
internal sealed class CompactWriter
{
    private BufferWriter _out = null!;
    private int[] _offsets = [];
    private int _dataStart;
    private int _depth;

    public Schema Schema { get; private set; } = null!;

    public void Begin(BufferWriter output, Schema schema, int depth = 0)
    {
        if (depth > CompactReader.MaxDepth)
        {
            ThrowHelper.Invalid($"Compact objects nested deeper than {CompactReader.MaxDepth} levels: a cycle?");
        }

        _out = output;
        _depth = depth;
        Schema = schema;
        if (schema.VariableSizeCount > 0)
        {
            _offsets = ArrayPool<int>.Shared.Rent(schema.VariableSizeCount);
            _offsets.AsSpan(0, schema.VariableSizeCount).Fill(-1);
            _dataStart = output.Position + 4;
            output.WriteZeros(schema.FixedSizeLength + 4);
        }
        else
        {
            _dataStart = output.Position;
            output.WriteZeros(schema.FixedSizeLength);
        }
    }

    public void End()
    {
        if (Schema.VariableSizeCount == 0)
        {
            return;
        }

        int dataLength = _out.Position - _dataStart;
        WriteOffsets(_out, dataLength, _offsets.AsSpan(0, Schema.VariableSizeCount));
        _out.PatchInt32(_dataStart - 4, dataLength);
        ArrayPool<int>.Shared.Return(_offsets);
        _offsets = [];
    }

    private static void WriteOffsets(BufferWriter output, int dataLength, ReadOnlySpan<int> offsets)
    {
        if (dataLength < 255)
        {
            foreach (int o in offsets)
            {
                output.WriteByte((byte)o);
            }
        }
        else if (dataLength < 65535)
        {
            foreach (int o in offsets)
            {
                output.WriteInt16((short)o);
            }
        }
        else
        {
            foreach (int o in offsets)
            {
                output.WriteInt32(o);
            }
        }
    }

    private FieldDescriptor Field(string name, FieldKind kind)
    {
        var f = Schema.Find(name) ?? ThrowHelper.Invalid<FieldDescriptor>($"field '{name}' is not in the schema of '{Schema.TypeName}'");
        if (f.Kind != kind)
        {
            ThrowHelper.Invalid($"field '{name}' of '{Schema.TypeName}' is {f.Kind}, not {kind}");
        }

        return f;
    }

    private void MarkVariable(FieldDescriptor f) => _offsets[f.Index] = _out.Position - _dataStart;

    public void WriteBoolean(string name, bool value)
    {
        var f = Field(name, FieldKind.BOOLEAN);
        _out.SetBit(_dataStart + f.Offset, f.BitOffset, value);
    }

    public void WriteInt8(string name, sbyte value) => _out.PatchByte(_dataStart + Field(name, FieldKind.INT8).Offset, (byte)value);

    public void WriteInt16(string name, short value) => PatchInt16(_dataStart + Field(name, FieldKind.INT16).Offset, value);

    public void WriteInt32(string name, int value) => _out.PatchInt32(_dataStart + Field(name, FieldKind.INT32).Offset, value);

    public void WriteInt64(string name, long value) => PatchInt64(_dataStart + Field(name, FieldKind.INT64).Offset, value);

    public void WriteFloat32(string name, float value) =>
        _out.PatchInt32(_dataStart + Field(name, FieldKind.FLOAT32).Offset, BufferWriter.FloatBits(value));

    public void WriteFloat64(string name, double value) =>
        PatchInt64(_dataStart + Field(name, FieldKind.FLOAT64).Offset, BufferWriter.DoubleBits(value));

    public void WriteString(string name, string? value)
    {
        var f = Field(name, FieldKind.STRING);
        if (value is null)
        {
            _offsets[f.Index] = -1;
            return;
        }

        MarkVariable(f);
        _out.WriteString(value);
    }

    /// <summary>Writes every field of a record, in schema (name) order as the Hazelcast clients do for generic records.</summary>
    public void WriteRecord(CompactRecord record)
    {
        foreach (var f in Schema.Fields)
        {
            WriteField(f, record[f.Ordinal]);
        }
    }

    public void WriteField(string name, object? value) =>
        WriteField(Schema.Find(name) ?? ThrowHelper.Invalid<FieldDescriptor>($"field '{name}' is not in the schema of '{Schema.TypeName}'"), value);

    /// <summary>Writes a field from its generic value (the CLR types of <see cref="CompactRecord"/>; wider numeric types are accepted when they fit).</summary>
    public void WriteField(FieldDescriptor f, object? value)
    {
        int fixedAt = _dataStart + f.Offset;
        switch (f.Kind)
        {
            case FieldKind.BOOLEAN:
                _out.SetBit(fixedAt, f.BitOffset, Require<bool>(f, value));
                return;
            case FieldKind.INT8:
                _out.PatchByte(fixedAt, (byte)Require<sbyte>(f, value));
                return;
            case FieldKind.INT16:
                PatchInt16(fixedAt, Require<short>(f, value));
                return;
            case FieldKind.INT32:
                _out.PatchInt32(fixedAt, Require<int>(f, value));
                return;
            case FieldKind.INT64:
                PatchInt64(fixedAt, Require<long>(f, value));
                return;
            case FieldKind.FLOAT32:
                _out.PatchInt32(fixedAt, BufferWriter.FloatBits(Require<float>(f, value)));
                return;
            case FieldKind.FLOAT64:
                PatchInt64(fixedAt, BufferWriter.DoubleBits(Require<double>(f, value)));
                return;
        }

        if (value is null)
        {
            _offsets[f.Index] = -1;
            return;
        }

        MarkVariable(f);
        var o = _out;
        switch (f.Kind)
        {
            case FieldKind.STRING: o.WriteString(As<string>(f, value)); break;
            case FieldKind.DECIMAL: WriteDecimal(o, As<HzDecimal>(f, value)); break;
            case FieldKind.TIME: WriteTime(o, As<HzLocalTime>(f, value)); break;
            case FieldKind.DATE: WriteDate(o, As<HzLocalDate>(f, value)); break;
            case FieldKind.TIMESTAMP: WriteTimestamp(o, As<HzLocalDateTime>(f, value)); break;
            case FieldKind.TIMESTAMP_WITH_TIMEZONE: WriteTimestampWithTimezone(o, As<HzOffsetDateTime>(f, value)); break;
            case FieldKind.COMPACT: WriteNested(As<CompactRecord>(f, value)); break;
            case FieldKind.NULLABLE_BOOLEAN: o.WriteBoolean(As<bool>(f, value)); break;
            case FieldKind.NULLABLE_INT8: o.WriteByte((byte)As<sbyte>(f, value)); break;
            case FieldKind.NULLABLE_INT16: o.WriteInt16(As<short>(f, value)); break;
            case FieldKind.NULLABLE_INT32: o.WriteInt32(As<int>(f, value)); break;
            case FieldKind.NULLABLE_INT64: o.WriteInt64(As<long>(f, value)); break;
            case FieldKind.NULLABLE_FLOAT32: o.WriteFloat32(As<float>(f, value)); break;
            case FieldKind.NULLABLE_FLOAT64: o.WriteFloat64(As<double>(f, value)); break;
            case FieldKind.ARRAY_OF_BOOLEAN: WriteBooleanBits(o, As<bool[]>(f, value)); break;
            case FieldKind.ARRAY_OF_INT8:
                var int8s = As<sbyte[]>(f, value);
                o.WriteInt32(int8s.Length);
                foreach (var v in int8s) { o.WriteByte((byte)v); }
                break;
            case FieldKind.ARRAY_OF_INT16:
                var int16s = As<short[]>(f, value);
                o.WriteInt32(int16s.Length);
                foreach (var v in int16s) { o.WriteInt16(v); }
                break;
            case FieldKind.ARRAY_OF_INT32:
                var int32s = As<int[]>(f, value);
                o.WriteInt32(int32s.Length);
                foreach (var v in int32s) { o.WriteInt32(v); }
                break;
            case FieldKind.ARRAY_OF_INT64:
                var int64s = As<long[]>(f, value);
                o.WriteInt32(int64s.Length);
                foreach (var v in int64s) { o.WriteInt64(v); }
                break;
            case FieldKind.ARRAY_OF_FLOAT32:
                var float32s = As<float[]>(f, value);
                o.WriteInt32(float32s.Length);
                foreach (var v in float32s) { o.WriteFloat32(v); }
                break;
            case FieldKind.ARRAY_OF_FLOAT64:
                var float64s = As<double[]>(f, value);
                o.WriteInt32(float64s.Length);
                foreach (var v in float64s) { o.WriteFloat64(v); }
                break;
            case FieldKind.ARRAY_OF_STRING: WriteVariableArray(f, As<string?[]>(f, value), static (w, o, v) => o.WriteString(v)); break;
            case FieldKind.ARRAY_OF_DECIMAL: WriteVariableArray(f, As<HzDecimal?[]>(f, value), static (w, o, v) => WriteDecimal(o, v!.Value)); break;
            case FieldKind.ARRAY_OF_TIME: WriteVariableArray(f, As<HzLocalTime?[]>(f, value), static (w, o, v) => WriteTime(o, v!.Value)); break;
            case FieldKind.ARRAY_OF_DATE: WriteVariableArray(f, As<HzLocalDate?[]>(f, value), static (w, o, v) => WriteDate(o, v!.Value)); break;
            case FieldKind.ARRAY_OF_TIMESTAMP: WriteVariableArray(f, As<HzLocalDateTime?[]>(f, value), static (w, o, v) => WriteTimestamp(o, v!.Value)); break;
            case FieldKind.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE: WriteVariableArray(f, As<HzOffsetDateTime?[]>(f, value), static (w, o, v) => WriteTimestampWithTimezone(o, v!.Value)); break;
            case FieldKind.ARRAY_OF_COMPACT: WriteCompactArray(f, As<CompactRecord?[]>(f, value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_BOOLEAN: WriteVariableArray(f, As<bool?[]>(f, value), static (w, o, v) => o.WriteBoolean(v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_INT8: WriteVariableArray(f, As<sbyte?[]>(f, value), static (w, o, v) => o.WriteByte((byte)v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_INT16: WriteVariableArray(f, As<short?[]>(f, value), static (w, o, v) => o.WriteInt16(v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_INT32: WriteVariableArray(f, As<int?[]>(f, value), static (w, o, v) => o.WriteInt32(v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_INT64: WriteVariableArray(f, As<long?[]>(f, value), static (w, o, v) => o.WriteInt64(v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_FLOAT32: WriteVariableArray(f, As<float?[]>(f, value), static (w, o, v) => o.WriteFloat32(v!.Value)); break;
            case FieldKind.ARRAY_OF_NULLABLE_FLOAT64: WriteVariableArray(f, As<double?[]>(f, value), static (w, o, v) => o.WriteFloat64(v!.Value)); break;
            default: ThrowHelper.Invalid($"field '{f.Name}' has unsupported kind {f.Kind}"); break;
        }
    }

    private void PatchInt16(int position, short value)
    {
        _out.PatchByte(position, (byte)(value >> 8));
        _out.PatchByte(position + 1, (byte)value);
    }

    private void PatchInt64(int position, long value)
    {
        _out.PatchInt32(position, (int)(value >> 32));
        _out.PatchInt32(position + 4, (int)value);
    }

    private T Require<T>(FieldDescriptor f, object? value)
        where T : struct
    {
        if (value is null)
        {
            ThrowHelper.Invalid($"field '{f.Name}' of '{Schema.TypeName}' is {f.Kind} and cannot be null");
        }

        return As<T>(f, value);
    }

    private T As<T>(FieldDescriptor f, object value)
    {
        if (value is T t)
        {
            return t;
        }

        if (typeof(T) == typeof(HzDecimal) && value is decimal d)
        {
            return (T)(object)FromDecimal(d);
        }

        try
        {
            if (value is IConvertible && typeof(T).IsPrimitive)
            {
                return (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is OverflowException or InvalidCastException or FormatException)
        {
            ThrowHelper.Invalid($"field '{f.Name}' of '{Schema.TypeName}' is {f.Kind}; the value {value} does not fit: {e.Message}");
        }

        return ThrowHelper.Invalid<T>($"field '{f.Name}' of '{Schema.TypeName}' is {f.Kind}; a {value.GetType().Name} cannot be written to it");
    }

    internal static HzDecimal FromDecimal(decimal d)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        int scale = (bits[3] >> 16) & 0xFF;
        var magnitude = new BigInteger((uint)bits[0]) | (new BigInteger((uint)bits[1]) << 32) | (new BigInteger((uint)bits[2]) << 64);
        return new HzDecimal(bits[3] < 0 ? -magnitude : magnitude, scale);
    }

    private void WriteNested(CompactRecord record)
    {
        _out.WriteInt64(record.Schema.Id);
        var nested = new CompactWriter();
        nested.Begin(_out, record.Schema, _depth + 1);
        nested.WriteRecord(record);
        nested.End();
    }

    private delegate void ItemWriter<in T>(CompactWriter writer, BufferWriter output, T value);

    private void WriteVariableArray<T>(FieldDescriptor f, T[] values, ItemWriter<T> write)
    {
        int lengthAt = _out.Position;
        _out.WriteInt32(0);
        _out.WriteInt32(values.Length);
        int itemsStart = _out.Position;
        int[] offsets = ArrayPool<int>.Shared.Rent(Math.Max(1, values.Length));
        try
        {
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] is null)
                {
                    offsets[i] = -1;
                    continue;
                }

                offsets[i] = _out.Position - itemsStart;
                write(this, _out, values[i]);
            }

            int dataLength = _out.Position - itemsStart;
            _out.PatchInt32(lengthAt, dataLength);
            WriteOffsets(_out, dataLength, offsets.AsSpan(0, values.Length));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(offsets);
        }

        _ = f;
    }

    private void WriteCompactArray(FieldDescriptor f, CompactRecord?[] values)
    {
        // Hazelcast refuses arrays that mix schemas: readers would not know which one to expect.
        Schema? first = null;
        foreach (var v in values)
        {
            if (v is null)
            {
                continue;
            }

            first ??= v.Schema;
            if (v.Schema.Id != first.Id)
            {
                ThrowHelper.Invalid($"field '{f.Name}' of '{Schema.TypeName}': an array of Compact must hold one schema, got '{first.TypeName}' and '{v.TypeName}'");
            }
        }

        WriteVariableArray(f, values, static (w, o, v) =>
        {
            o.WriteInt64(v!.Schema.Id);
            var nested = new CompactWriter();
            nested.Begin(o, v.Schema, w._depth + 1);
            nested.WriteRecord(v);
            nested.End();
        });
    }

    private static void WriteBooleanBits(BufferWriter o, bool[] values)
    {
        o.WriteInt32(values.Length);
        int start = o.Position;
        o.WriteZeros((values.Length + 7) / 8);
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i])
            {
                o.SetBit(start + (i / 8), i % 8, true);
            }
        }
    }

    internal static void WriteDecimal(BufferWriter o, HzDecimal value)
    {
        // Java's BigInteger.toByteArray: minimal two's complement, big-endian.
        int count = value.Unscaled.GetByteCount(isUnsigned: false);
        Span<byte> bytes = count <= 256 ? stackalloc byte[count] : new byte[count];
        value.Unscaled.TryWriteBytes(bytes, out _, isUnsigned: false, isBigEndian: true);
        o.WriteByteArray(bytes);
        o.WriteInt32(value.Scale);
    }

    internal static void WriteTime(BufferWriter o, HzLocalTime t)
    {
        o.WriteByte(t.Hour);
        o.WriteByte(t.Minute);
        o.WriteByte(t.Second);
        o.WriteInt32(t.Nano);
    }

    internal static void WriteDate(BufferWriter o, HzLocalDate d)
    {
        o.WriteInt32(d.Year);
        o.WriteByte(d.Month);
        o.WriteByte(d.Day);
    }

    internal static void WriteTimestamp(BufferWriter o, HzLocalDateTime t)
    {
        WriteDate(o, t.Date);
        WriteTime(o, t.Time);
    }

    internal static void WriteTimestampWithTimezone(BufferWriter o, HzOffsetDateTime t)
    {
        WriteTimestamp(o, t.DateTime);
        o.WriteInt32(t.OffsetSeconds);
    }
}

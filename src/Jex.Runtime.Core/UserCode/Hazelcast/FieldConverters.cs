using System.Numerics;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Hazelcast.Values;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// Reads and writes one CLR type as a Compact field. <see cref="Kind"/> is the kind it writes (and
/// so the kind in schemas derived from properties); <see cref="CanRead"/> says which writer kinds it
/// accepts. Read and Write take a field already checked against those, resolved once per schema.
/// Errors are <see cref="HazelcastCodecException"/> naming the field.
/// </summary>
internal abstract class FieldConverter<T>
{
    public abstract FieldKind Kind { get; }

    public abstract bool CanRead(FieldKind kind);

    public abstract T Read(CompactReader reader, FieldDescriptor field);

    public abstract void Write(CompactWriter writer, FieldDescriptor field, T value);

    protected static TResult NullInto<TResult>(CompactReader reader, FieldDescriptor field) =>
        throw new HazelcastCodecException(
            $"field '{field.Name}' of '{reader.Schema.TypeName}' is null, but {typeof(TResult).Name} cannot hold null; make the property nullable");
}

/// <summary>BOOLEAN, INT8 ... FLOAT64 into their CLR primitives; also reads the NULLABLE_ kind when the value is not null.</summary>
internal sealed class FixedConverter<T>(
    FieldKind kind,
    FieldKind nullableKind,
    Func<CompactReader, FieldDescriptor, T> read,
    Action<CompactWriter, FieldDescriptor, T> write,
    Action<BufferWriter, T> writeVariable) : FieldConverter<T>
    where T : struct
{
    public override FieldKind Kind => kind;

    public FieldKind NullableKind => nullableKind;

    public override bool CanRead(FieldKind k) => k == kind || k == nullableKind;

    public override T Read(CompactReader reader, FieldDescriptor field) =>
        field.Kind == nullableKind && reader.IsNull(field) ? NullInto<T>(reader, field) : read(reader, field);

    public override void Write(CompactWriter writer, FieldDescriptor field, T value) => write(writer, field, value);

    public void WriteVariable(BufferWriter output, T value) => writeVariable(output, value);

    public T ReadPresent(CompactReader reader, FieldDescriptor field) => read(reader, field);
}

/// <summary>int?, bool?, ...: NULLABLE_ kinds; also reads the fixed kind.</summary>
internal sealed class NullableConverter<T>(FixedConverter<T> inner) : FieldConverter<T?>
    where T : struct
{
    public override FieldKind Kind => inner.NullableKind;

    public override bool CanRead(FieldKind k) => inner.CanRead(k);

    public override T? Read(CompactReader reader, FieldDescriptor field) =>
        reader.IsNull(field) ? null : inner.ReadPresent(reader, field);

    public override void Write(CompactWriter writer, FieldDescriptor field, T? value)
    {
        if (value is { } v)
        {
            inner.WriteVariable(writer.BeginVariable(field), v);
        }
        else
        {
            writer.WriteNull(field);
        }
    }
}

internal sealed class StringConverter : FieldConverter<string?>
{
    public static readonly StringConverter Instance = new();

    public override FieldKind Kind => FieldKind.STRING;

    public override bool CanRead(FieldKind kind) => kind == FieldKind.STRING;

    public override string? Read(CompactReader reader, FieldDescriptor field) => reader.ReadString(field);

    public override void Write(CompactWriter writer, FieldDescriptor field, string? value) => writer.WriteString(field, value);
}

/// <summary>
/// Kinds read through the codec's generic values (decimals, temporals, arrays): they allocate
/// anyway, so one conversion to and from the generic CLR type keeps the table small.
/// </summary>
internal sealed class GenericValueConverter<T>(FieldKind kind, FieldKind[] readKinds, Func<object, T> fromGeneric, Func<T, object> toGeneric)
    : FieldConverter<T>
{
    public override FieldKind Kind => kind;

    public override bool CanRead(FieldKind k) => Array.IndexOf(readKinds, k) >= 0;

    public override T Read(CompactReader reader, FieldDescriptor field)
    {
        var value = reader.ReadField(field);
        if (value is null)
        {
            return default(T) is null ? default! : NullInto<T>(reader, field);
        }

        try
        {
            return fromGeneric(value);
        }
        catch (Exception e) when (e is OverflowException or InvalidCastException or ArgumentException)
        {
            throw new HazelcastCodecException($"field '{field.Name}' of '{reader.Schema.TypeName}' ({field.Kind}) does not fit {typeof(T).Name}: {e.Message}", e);
        }
    }

    public override void Write(CompactWriter writer, FieldDescriptor field, T value)
    {
        if (value is null)
        {
            writer.WriteNull(field);
            return;
        }

        writer.WriteField(field, toGeneric(value));
    }
}

/// <summary>
/// ARRAY_OF_INT8 as byte[], copied once straight from the data (the generic path would build an
/// sbyte[] element by element and copy it again): payloads are often byte arrays.
/// </summary>
internal sealed class ByteArrayConverter : FieldConverter<byte[]?>
{
    public static readonly ByteArrayConverter Instance = new();

    public override FieldKind Kind => FieldKind.ARRAY_OF_INT8;

    public override bool CanRead(FieldKind kind) => kind == FieldKind.ARRAY_OF_INT8;

    public override byte[]? Read(CompactReader reader, FieldDescriptor field)
    {
        var position = reader.NestedPosition(field);
        if (position < 0)
        {
            return null;
        }

        var data = reader.Data.Span;
        var length = BigEndian.ReadInt32(data, position);
        if (length < 0 || length > data.Length - position - 4)
        {
            throw new HazelcastCodecException(
                $"field '{field.Name}' of '{reader.Schema.TypeName}' announces {length} bytes at {position}, but {data.Length - position - 4} remain");
        }

        return data.Slice(position + 4, length).ToArray();
    }

    public override void Write(CompactWriter writer, FieldDescriptor field, byte[]? value)
    {
        if (value is null)
        {
            writer.WriteNull(field);
            return;
        }

        var output = writer.BeginVariable(field);
        output.WriteInt32(value.Length);
        output.WriteBytes(value);
    }
}

/// <summary>A nested Compact object (COMPACT), through its type's codec.</summary>
internal sealed class CompactConverter<T>(CompactTypeCodec<T> codec) : FieldConverter<T?>
{
    public override FieldKind Kind => FieldKind.COMPACT;

    public override bool CanRead(FieldKind kind) => kind == FieldKind.COMPACT;

    public override T? Read(CompactReader reader, FieldDescriptor field)
    {
        int position = reader.NestedPosition(field);
        if (position < 0)
        {
            return default(T) is null ? default : NullInto<T>(reader, field);
        }

        var nested = HazelcastScratch.Current.Reader(reader.Depth + 1);
        nested.Reset(reader.Data, position, reader.Schemas, reader.Depth + 1);
        return codec.ReadObject(nested);
    }

    public override void Write(CompactWriter writer, FieldDescriptor field, T? value)
    {
        if (value is null)
        {
            writer.WriteNull(field);
            return;
        }

        var scratch = HazelcastScratch.Current;
        var schema = codec.SchemaFor(value);
        scratch.Announce(schema);
        var nested = scratch.Writer(writer.Depth + 1);
        writer.BeginNested(field, schema, nested);
        codec.WriteBody(nested, value);
        nested.End();
    }
}

/// <summary>ARRAY_OF_COMPACT into an array of a mapped type.</summary>
internal sealed class CompactArrayConverter<T>(CompactTypeCodec<T> codec) : FieldConverter<T?[]?>
{
    public override FieldKind Kind => FieldKind.ARRAY_OF_COMPACT;

    public override bool CanRead(FieldKind kind) => kind == FieldKind.ARRAY_OF_COMPACT;

    public override T?[]? Read(CompactReader reader, FieldDescriptor field) =>
        reader.ReadArrayOfCompact(field, (r, position) =>
        {
            var nested = new CompactReader();
            nested.Reset(r.Data, position, r.Schemas, r.Depth + 1);
            return codec.ReadObject(nested);
        });

    public override void Write(CompactWriter writer, FieldDescriptor field, T?[]? value)
    {
        if (value is null)
        {
            writer.WriteNull(field);
            return;
        }

        var scratch = HazelcastScratch.Current;
        writer.WriteArrayOfCompact(field, value, v =>
        {
            var schema = codec.SchemaFor(v);
            scratch.Announce(schema);
            return schema;
        }, codec.WriteBody);
    }
}

/// <summary>The converters for types that are not Compact-mapped classes, by CLR type.</summary>
internal static class FieldConverters
{
    private static readonly Dictionary<Type, object> Table = Build();

    /// <summary>The converter for <paramref name="type"/>, or null when no built-in field kind maps it.</summary>
    public static object? Find(Type type) => Table.GetValueOrDefault(type);

    private static Dictionary<Type, object> Build()
    {
        var table = new Dictionary<Type, object>();

        void Fixed<T>(FieldKind kind, FieldKind nullableKind, FieldKind arrayKind, FieldKind nullableArrayKind,
            Func<CompactReader, FieldDescriptor, T> read, Action<CompactWriter, FieldDescriptor, T> write, Action<BufferWriter, T> writeVariable)
            where T : struct
        {
            var converter = new FixedConverter<T>(kind, nullableKind, read, write, writeVariable);
            table[typeof(T)] = converter;
            table[typeof(T?)] = new NullableConverter<T>(converter);
            table[typeof(T[])] = new GenericValueConverter<T[]>(arrayKind, [arrayKind, nullableArrayKind],
                v => v as T[] ?? NonNullArray((T?[])v), v => v);
            table[typeof(T?[])] = new GenericValueConverter<T?[]>(nullableArrayKind, [nullableArrayKind, arrayKind],
                v => v as T?[] ?? Array.ConvertAll((T[])v, x => (T?)x), v => v);
        }

        Fixed(FieldKind.BOOLEAN, FieldKind.NULLABLE_BOOLEAN, FieldKind.ARRAY_OF_BOOLEAN, FieldKind.ARRAY_OF_NULLABLE_BOOLEAN,
            static (r, f) => r.ReadBoolean(f), static (w, f, v) => w.WriteBoolean(f, v), static (o, v) => o.WriteBoolean(v));
        Fixed(FieldKind.INT8, FieldKind.NULLABLE_INT8, FieldKind.ARRAY_OF_INT8, FieldKind.ARRAY_OF_NULLABLE_INT8,
            static (r, f) => r.ReadInt8(f), static (w, f, v) => w.WriteInt8(f, v), static (o, v) => o.WriteByte((byte)v));
        Fixed(FieldKind.INT16, FieldKind.NULLABLE_INT16, FieldKind.ARRAY_OF_INT16, FieldKind.ARRAY_OF_NULLABLE_INT16,
            static (r, f) => r.ReadInt16(f), static (w, f, v) => w.WriteInt16(f, v), static (o, v) => o.WriteInt16(v));
        Fixed(FieldKind.INT32, FieldKind.NULLABLE_INT32, FieldKind.ARRAY_OF_INT32, FieldKind.ARRAY_OF_NULLABLE_INT32,
            static (r, f) => r.ReadInt32(f), static (w, f, v) => w.WriteInt32(f, v), static (o, v) => o.WriteInt32(v));
        Fixed(FieldKind.INT64, FieldKind.NULLABLE_INT64, FieldKind.ARRAY_OF_INT64, FieldKind.ARRAY_OF_NULLABLE_INT64,
            static (r, f) => r.ReadInt64(f), static (w, f, v) => w.WriteInt64(f, v), static (o, v) => o.WriteInt64(v));
        Fixed(FieldKind.FLOAT32, FieldKind.NULLABLE_FLOAT32, FieldKind.ARRAY_OF_FLOAT32, FieldKind.ARRAY_OF_NULLABLE_FLOAT32,
            static (r, f) => r.ReadFloat32(f), static (w, f, v) => w.WriteFloat32(f, v), static (o, v) => o.WriteFloat32(v));
        Fixed(FieldKind.FLOAT64, FieldKind.NULLABLE_FLOAT64, FieldKind.ARRAY_OF_FLOAT64, FieldKind.ARRAY_OF_NULLABLE_FLOAT64,
            static (r, f) => r.ReadFloat64(f), static (w, f, v) => w.WriteFloat64(f, v), static (o, v) => o.WriteFloat64(v));

        // Java's byte[] is ARRAY_OF_INT8; .NET users write byte[].
        table[typeof(byte[])] = ByteArrayConverter.Instance;
        table[typeof(string)] = StringConverter.Instance;
        table[typeof(string[])] = new GenericValueConverter<string?[]>(FieldKind.ARRAY_OF_STRING, [FieldKind.ARRAY_OF_STRING], v => (string?[])v, v => v);

        Variable(FieldKind.DECIMAL, FieldKind.ARRAY_OF_DECIMAL, (HzDecimal v) => ToDecimal(v), CompactWriter.FromDecimal);
        Variable(FieldKind.DATE, FieldKind.ARRAY_OF_DATE, (HzLocalDate v) => v.ToDateOnly(), HzLocalDate.From);
        Variable(FieldKind.TIME, FieldKind.ARRAY_OF_TIME, (HzLocalTime v) => v.ToTimeOnly(), HzLocalTime.From);
        Variable(FieldKind.TIMESTAMP, FieldKind.ARRAY_OF_TIMESTAMP, (HzLocalDateTime v) => v.ToDateTime(), HzLocalDateTime.From);
        Variable(FieldKind.TIMESTAMP_WITH_TIMEZONE, FieldKind.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE, (HzOffsetDateTime v) => v.ToDateTimeOffset(), HzOffsetDateTime.From);
        return table;

        void Variable<THz, T>(FieldKind kind, FieldKind arrayKind, Func<THz, T> fromHz, Func<T, THz> toHz)
            where THz : struct
            where T : struct
        {
            table[typeof(T)] = new GenericValueConverter<T>(kind, [kind], v => fromHz((THz)v), v => toHz(v));
            table[typeof(T?)] = new GenericValueConverter<T?>(kind, [kind], v => fromHz((THz)v), v => toHz(v!.Value));
            table[typeof(T[])] = new GenericValueConverter<T[]>(arrayKind, [arrayKind],
                v => Array.ConvertAll((THz?[])v, x => x is { } hz ? fromHz(hz) : throw new InvalidCastException($"the array holds a null; use {typeof(T).Name}?[]")),
                v => Array.ConvertAll(v, x => (THz?)toHz(x)));
            table[typeof(T?[])] = new GenericValueConverter<T?[]>(arrayKind, [arrayKind],
                v => Array.ConvertAll((THz?[])v, x => x is { } hz ? fromHz(hz) : (T?)null),
                v => Array.ConvertAll(v, x => x is { } clr ? toHz(clr) : (THz?)null));
        }
    }

    private static T[] NonNullArray<T>(T?[] values)
        where T : struct =>
        Array.ConvertAll(values, x => x ?? throw new InvalidCastException($"the array holds a null; use {typeof(T).Name}?[]"));

    /// <summary>Java's BigDecimal into .NET decimal, exactly, or an overflow naming the value.</summary>
    internal static decimal ToDecimal(HzDecimal value)
    {
        var unscaled = value.Unscaled;
        int scale = value.Scale;
        while (scale < 0)
        {
            unscaled *= 10;
            scale++;
        }

        // decimal holds 96 bits of magnitude and scales 0..28; drop trailing zeros of larger scales.
        while (scale > 28 && !unscaled.IsZero && BigInteger.Remainder(unscaled, 10).IsZero)
        {
            unscaled /= 10;
            scale--;
        }

        var magnitude = BigInteger.Abs(unscaled);
        if (scale > 28 || magnitude.GetBitLength() > 96)
        {
            throw new OverflowException($"{value} does not fit System.Decimal exactly");
        }

        Span<byte> bytes = stackalloc byte[12];
        magnitude.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return new decimal(
            BitConverter.ToInt32(bytes[..4]), BitConverter.ToInt32(bytes[4..8]), BitConverter.ToInt32(bytes[8..12]),
            unscaled.Sign < 0, (byte)scale);
    }
}

using System.Text.Json;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// What every top-level codec shares: empty bytes and the null type are null; codec errors
/// become item errors (UNKNOWN_SCHEMA naming the id, else DECODE or ENCODE naming the type).
/// </summary>
internal abstract class ValueCodec<T> : HazelcastCodec<T>
{
    public override bool CanWrite => true;

    public sealed override T Read(ReadOnlyMemory<byte> data, InvocationContext context)
    {
        // Empty: the journal event had no value (a removal), as the member sends it.
        if (data.IsEmpty)
        {
            return ReadNull();
        }

        try
        {
            int typeId = HazelcastSerializer.ReadTypeId(data.Span);
            return typeId == TypeIds.Null ? ReadNull() : ReadValue(data, typeId, context);
        }
        catch (UnknownSchemaException e)
        {
            throw new PayloadBindingException(e.Message, e, ItemError.Types.Code.UnknownSchema);
        }
        catch (PayloadBindingException)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException && ExceptionFilter.IsRecoverable(e))
        {
            throw new PayloadBindingException($"cannot bind Hazelcast data to {typeof(T).Name}: {e.Message}", e);
        }
    }

    public sealed override ReadOnlyMemory<byte> Write(T value, InvocationContext context)
    {
        if (value is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var scratch = HazelcastScratch.Current;
        try
        {
            var output = scratch.Output();
            WriteValue(value, output, scratch, context);
            // The scratch buffer is reused by the next write: keep the bytes until the item ends.
            return context.Keep(output.WrittenSpan);
        }
        catch (PayloadBindingException)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException && ExceptionFilter.IsRecoverable(e))
        {
            throw new PayloadBindingException($"cannot write {typeof(T).Name} as Hazelcast data: {e.Message}", e, ItemError.Types.Code.Encode);
        }
        finally
        {
            scratch.State = null;
        }
    }

    protected virtual T ReadNull() => default(T) is null
        ? default!
        : throw new PayloadBindingException($"the value is null, which {typeof(T).Name} cannot hold; take {typeof(T).Name}? to accept removals");

    protected abstract T ReadValue(ReadOnlyMemory<byte> data, int typeId, InvocationContext context);

    protected abstract void WriteValue(T value, BufferWriter output, HazelcastScratch scratch, InvocationContext context);

    protected static PayloadBindingException Mismatch(int typeId, string expected) =>
        new($"Hazelcast type id {typeId} ({Describe(typeId)}) cannot bind to {typeof(T).Name}; expected {expected}");

    private static string Describe(int typeId) => typeId switch
    {
        TypeIds.Compact => "Compact",
        TypeIds.String => "String",
        TypeIds.JsonValue => "HazelcastJsonValue",
        TypeIds.Integer => "Integer",
        TypeIds.Long => "Long",
        TypeIds.ByteArray => "byte[]",
        _ => TypeIds.Describe(typeId),
    };

    /// <summary>The UTF-8 text of a String or HazelcastJsonValue payload, without copying.</summary>
    protected static ReadOnlySpan<byte> Utf8Payload(ReadOnlySpan<byte> data)
    {
        int length = BigEndian.ReadInt32(data, HazelcastSerializer.HeaderSize);
        if (length < 0)
        {
            return [];
        }

        BigEndian.Require(data, HazelcastSerializer.HeaderSize + 4, length);
        return data.Slice(HazelcastSerializer.HeaderSize + 4, length);
    }
}

/// <summary>string: Hazelcast String, or the text of a HazelcastJsonValue.</summary>
internal sealed class StringValueCodec : ValueCodec<string?>
{
    protected override string? ReadValue(ReadOnlyMemory<byte> data, int typeId, InvocationContext context) => typeId switch
    {
        TypeIds.String or TypeIds.JsonValue => BigEndian.ReadInt32(data.Span, HazelcastSerializer.HeaderSize) < 0
            ? null
            : BufferWriter.DecodeUtf8(Utf8Payload(data.Span)),
        _ => throw Mismatch(typeId, "String or HazelcastJsonValue"),
    };

    protected override void WriteValue(string? value, BufferWriter output, HazelcastScratch scratch, InvocationContext context)
    {
        output.WriteInt32(0);
        output.WriteInt32(TypeIds.String);
        output.WriteString(value);
    }
}

/// <summary>
/// The other built-in types (bool, sbyte, char, short, int, long, float, double, byte[], Guid,
/// primitive arrays, string[]) through the codec's generic values; numbers widen when exact.
/// </summary>
internal sealed class BuiltInValueCodec<T> : ValueCodec<T>
{
    private static readonly Type Target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);

    public static bool Handles(Type type) =>
        (Nullable.GetUnderlyingType(type) ?? type) is var t
        && (t == typeof(bool) || t == typeof(sbyte) || t == typeof(char) || t == typeof(short) || t == typeof(int)
            || t == typeof(long) || t == typeof(float) || t == typeof(double) || t == typeof(Guid) || t == typeof(byte[])
            || t == typeof(bool[]) || t == typeof(char[]) || t == typeof(short[]) || t == typeof(int[]) || t == typeof(long[])
            || t == typeof(float[]) || t == typeof(double[]) || t == typeof(string[]));

    protected override T ReadValue(ReadOnlyMemory<byte> data, int typeId, InvocationContext context)
    {
        var value = HazelcastSerializer.Deserialize(data, EmptySchemas.Instance);
        switch (value)
        {
            case null:
                return ReadNull();
            case T typed:
                return typed;
            case sbyte or short or int or long or float or double when IsNumber(Target):
                try
                {
                    return Widen(value);
                }
                catch (OverflowException)
                {
                    throw new PayloadBindingException($"the {value.GetType().Name} {value} does not fit {Target.Name}");
                }

            default:
                throw Mismatch(typeId, Target.Name);
        }
    }

    private static bool IsNumber(Type t) =>
        t == typeof(sbyte) || t == typeof(short) || t == typeof(int) || t == typeof(long) || t == typeof(float) || t == typeof(double);

    private static T Widen(object value)
    {
        // Lossless only: an integer into a wider integer or a double; float into double.
        var converted = Convert.ChangeType(value, Target, System.Globalization.CultureInfo.InvariantCulture);
        if (!Equals(Convert.ChangeType(converted, value.GetType(), System.Globalization.CultureInfo.InvariantCulture), value))
        {
            throw new OverflowException();
        }

        return (T)converted;
    }

    protected override void WriteValue(T value, BufferWriter output, HazelcastScratch scratch, InvocationContext context) =>
        HazelcastSerializer.Serialize(value, output);

    private sealed class EmptySchemas : ISchemaLookup
    {
        public static readonly EmptySchemas Instance = new();

        public bool TryGet(long schemaId, out Schema schema)
        {
            schema = null!;
            return false;
        }
    }
}

/// <summary>A Compact-mapped type; a HazelcastJsonValue is bound from JSON too.</summary>
internal sealed class CompactValueCodec<T>(CompactTypeCodec<T> type, JsonSerializerOptions json) : ValueCodec<T>
{
    protected override T ReadValue(ReadOnlyMemory<byte> data, int typeId, InvocationContext context)
    {
        switch (typeId)
        {
            case TypeIds.Compact:
                var state = HazelcastSessionState.For(context.Session);
                var reader = HazelcastScratch.Current.Reader(0);
                reader.Reset(data, HazelcastSerializer.HeaderSize, state.Schemas);
                return type.ReadObject(reader);
            case TypeIds.JsonValue:
                return JsonSerializer.Deserialize<T>(Utf8Payload(data.Span), json)!;
            default:
                throw Mismatch(typeId, $"Compact '{type.TypeName}'");
        }
    }

    protected override void WriteValue(T value, BufferWriter output, HazelcastScratch scratch, InvocationContext context)
    {
        var state = HazelcastSessionState.For(context.Session);
        scratch.State = state;
        var schema = type.SchemaFor(value);
        state.Announce(schema);
        output.WriteInt32(0);
        output.WriteInt32(TypeIds.Compact);
        output.WriteInt64(schema.Id);
        var writer = scratch.Writer(0);
        writer.Begin(output, schema);
        type.WriteBody(writer, value);
        writer.End();
    }
}

/// <summary>Any other class: a HazelcastJsonValue (or a String holding JSON), bound with System.Text.Json.</summary>
internal sealed class JsonValueCodec<T>(JsonSerializerOptions json) : ValueCodec<T>
{
    protected override T ReadValue(ReadOnlyMemory<byte> data, int typeId, InvocationContext context) => typeId switch
    {
        TypeIds.JsonValue or TypeIds.String => JsonSerializer.Deserialize<T>(Utf8Payload(data.Span), json)!,
        TypeIds.Compact => throw new PayloadBindingException(
            $"a Compact value cannot bind to {typeof(T).Name}: mark the class [CompactType(\"<type name>\")] or implement ICompactSerializer<{typeof(T).Name}>"),
        _ => throw Mismatch(typeId, "HazelcastJsonValue"),
    };

    protected override void WriteValue(T value, BufferWriter output, HazelcastScratch scratch, InvocationContext context)
    {
        output.WriteInt32(0);
        output.WriteInt32(TypeIds.JsonValue);
        output.WriteByteArray(JsonSerializer.SerializeToUtf8Bytes(value, json));
    }
}

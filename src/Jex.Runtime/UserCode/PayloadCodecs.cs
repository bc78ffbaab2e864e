using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Turns wire payloads (a key or a value and its <see cref="Format"/>) into the CLR types a function
/// takes, and its results back. One binder per CLR type, created when a function is loaded.
/// </summary>
internal sealed class PayloadCodecs
{
    /// <summary>System.Text.Json's web defaults: camelCase out, case-insensitive in.</summary>
    public JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The Hazelcast <c>Data</c> codec, when this build has one; null refuses FORMAT_HAZELCAST.</summary>
    public IHazelcastBinding? Hazelcast { get; set; }

    public PayloadBinder<T> BinderFor<T>() => (PayloadBinder<T>)BinderFor(typeof(T));

    public object BinderFor(Type type)
    {
        if (type == typeof(string))
        {
            return new StringBinder(this);
        }

        if (type == typeof(byte[]))
        {
            return new ByteArrayBinder();
        }

        if (type == typeof(ReadOnlyMemory<byte>))
        {
            return new MemoryBinder();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(MapEntry<,>))
        {
            throw new NotSupportedException($"{Describe(type)} may only be the whole parameter or result, not nested in another type");
        }

        if (type.IsPointer || type.IsByRef || type.IsGenericTypeDefinition || typeof(Delegate).IsAssignableFrom(type))
        {
            throw new NotSupportedException($"type {type} cannot be bound to a payload");
        }

        return Activator.CreateInstance(typeof(ObjectBinder<>).MakeGenericType(type), this)!;
    }

    public string Describe(Type type)
    {
        if (type == typeof(string))
        {
            return "string";
        }

        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            return "bytes";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(MapEntry<,>))
        {
            var args = type.GetGenericArguments();
            return $"entry<{Describe(args[0])},{Describe(args[1])}>";
        }

        return Hazelcast?.Describe(type) ?? $"json:{type.Name}";
    }

    private sealed class StringBinder(PayloadCodecs codecs) : PayloadBinder<string?>
    {
        public override string? Read(ByteString data, Format format, InvocationContext context) => format switch
        {
            Format.Hazelcast => codecs.RequireHazelcast().Read<string?>(data.Span, context),
            _ => data.Length == 0 ? string.Empty : Encoding.UTF8.GetString(data.Span),
        };

        public override ByteString Write(string? value, Format preferred, InvocationContext context, out Format format)
        {
            if (preferred == Format.Hazelcast)
            {
                format = Format.Hazelcast;
                return codecs.RequireHazelcast().Write(value, context);
            }

            format = Format.Text;
            return value is null ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(Encoding.UTF8.GetBytes(value));
        }
    }

    /// <summary>Bytes as they are on the wire, whatever the format; results keep the input's format.</summary>
    private sealed class ByteArrayBinder : PayloadBinder<byte[]?>
    {
        public override byte[]? Read(ByteString data, Format format, InvocationContext context) => data.ToByteArray();

        public override ByteString Write(byte[]? value, Format preferred, InvocationContext context, out Format format)
        {
            format = preferred;
            return value is null ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(value);
        }
    }

    private sealed class MemoryBinder : PayloadBinder<ReadOnlyMemory<byte>>
    {
        public override ReadOnlyMemory<byte> Read(ByteString data, Format format, InvocationContext context) => data.Memory;

        public override ByteString Write(ReadOnlyMemory<byte> value, Format preferred, InvocationContext context, out Format format)
        {
            format = preferred;
            return UnsafeByteOperations.UnsafeWrap(value);
        }
    }

    /// <summary>POCOs: JSON, or Hazelcast when the item says so and the codec can bind the type.</summary>
    private sealed class ObjectBinder<T>(PayloadCodecs codecs) : PayloadBinder<T>
    {
        public override T Read(ByteString data, Format format, InvocationContext context)
        {
            if (format == Format.Hazelcast)
            {
                return codecs.RequireHazelcast().Read<T>(data.Span, context);
            }

            return JsonSerializer.Deserialize<T>(data.Span, codecs.Json)!;
        }

        public override ByteString Write(T value, Format preferred, InvocationContext context, out Format format)
        {
            if (preferred == Format.Hazelcast && codecs.Hazelcast is { } hz && hz.CanWrite(typeof(T)))
            {
                format = Format.Hazelcast;
                return hz.Write(value, context);
            }

            format = Format.Json;
            return UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(value, codecs.Json));
        }
    }

    private IHazelcastBinding RequireHazelcast() =>
        Hazelcast ?? throw new PayloadBindingException("FORMAT_HAZELCAST is not supported by this runtime");
}

/// <summary>Reads and writes one CLR type.</summary>
internal abstract class PayloadBinder<T>
{
    public abstract T Read(ByteString data, Format format, InvocationContext context);

    public abstract ByteString Write(T value, Format preferred, InvocationContext context, out Format format);
}

/// <summary>The hook the Hazelcast codec plugs into.</summary>
internal interface IHazelcastBinding
{
    /// <summary>A signature description for types it binds (e.g. <c>compact:some-thing</c>), else null.</summary>
    string? Describe(Type type);

    bool CanWrite(Type type);

    T Read<T>(ReadOnlySpan<byte> data, InvocationContext context);

    ByteString Write<T>(T value, InvocationContext context);
}

/// <summary>A payload could not be bound to, or produced from, the function's types.</summary>
internal sealed class PayloadBindingException : Exception
{
    public PayloadBindingException(string message, Exception? inner = null, ItemError.Types.Code code = ItemError.Types.Code.Decode)
        : base(message, inner) => Code = code;

    /// <summary>The item error code: DECODE, ENCODE or UNKNOWN_SCHEMA.</summary>
    public ItemError.Types.Code Code { get; }
}

using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using Jex.Protocol.V1;
using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Turns wire payloads (a key or a value and its <see cref="Format"/>) into the CLR types a function
/// takes, and its results back. One binder per CLR type, created when a function is loaded.
/// </summary>
internal sealed class PayloadCodecs
{
    /// <summary>Codecs for every format this build carries: JSON, text, bytes and Hazelcast.</summary>
    public static PayloadCodecs CreateDefault()
    {
        var codecs = new PayloadCodecs();
        var hazelcast = new Hazelcast.HazelcastBinding(codecs);
        codecs.Hazelcast = hazelcast;
        codecs.SessionFormat = hazelcast;
        return codecs;
    }

    /// <summary>
    /// System.Text.Json's web defaults: camelCase out, case-insensitive in. A resolver of its own, so
    /// these options never share System.Text.Json's type metadata cache (shared between options with
    /// equal settings and the same resolver) with another code version's: an unloaded version's
    /// types must not stay reachable from the current version's options.
    /// </summary>
    public JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    /// <summary>The Hazelcast <c>Data</c> codec, when this build has one; null refuses FORMAT_HAZELCAST.</summary>
    public IHazelcastBinding? Hazelcast { get; set; }

    /// <summary>The format that keeps per-session state (Compact schemas), started at each Init; null when none.</summary>
    public IPayloadFormat? SessionFormat { get; set; }

    /// <summary>Lets the Hazelcast binding find user <c>ICompactSerializer&lt;T&gt;</c> implementations; called before the assembly's functions are bound.</summary>
    public void AddUserAssembly(Assembly assembly) => Hazelcast?.AddUserAssembly(assembly);

    public PayloadBinder<T> BinderFor<T>() => (PayloadBinder<T>)BinderFor(typeof(T));

    public object BinderFor(Type type)
    {
        if (type == typeof(string))
        {
            return new StringBinder(this);
        }

        if (type == typeof(byte[]))
        {
            return new ByteArrayBinder(this);
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

        try
        {
            return Activator.CreateInstance(typeof(ObjectBinder<>).MakeGenericType(type), this)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is NotSupportedException inner)
        {
            // The Hazelcast binding refuses a type it cannot map; the loader reports NotSupportedException.
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
    }

    /// <summary>
    /// The type as a load-time signature shows it, before any session names its formats: a class
    /// that binds both as JSON and as Compact shows both (<c>json:SomeThing or compact:some-thing</c>).
    /// </summary>
    public string Describe(Type type) => Describe(type, null, null);

    /// <summary>The type as a session with these formats reads or writes it (<c>json:SomeThing</c>, <c>compact:some-thing</c>).</summary>
    public string Describe(Type type, Format keyFormat, Format valueFormat) => Describe(type, (Format?)keyFormat, valueFormat);

    private string Describe(Type type, Format? keyFormat, Format? valueFormat)
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
            return $"entry<{Describe(args[0], keyFormat, keyFormat)},{Describe(args[1], valueFormat, valueFormat)}>";
        }

        var json = $"json:{type.Name}";
        if (valueFormat is null or Format.Hazelcast && Hazelcast?.Describe(type) is { } hazelcast)
        {
            return valueFormat is null ? $"{json} or {hazelcast}" : hazelcast;
        }

        return json;
    }

    private sealed class StringBinder(PayloadCodecs codecs) : PayloadBinder<string?>
    {
        private readonly HazelcastCodec<string?>? _hazelcast = codecs.Hazelcast?.CodecFor<string?>();

        public override string? Read(ReadOnlyMemory<byte> data, Format format, InvocationContext context) => format switch
        {
            Format.Hazelcast => RequireHazelcast(_hazelcast).Read(data, context),
            Format.Json => JsonStrings.Read(data.Span, context),
            _ => data.Length == 0 ? string.Empty : Encoding.UTF8.GetString(data.Span),
        };

        public override ReadOnlyMemory<byte> Write(string? value, Format preferred, InvocationContext context, out Format format)
        {
            if (preferred == Format.Hazelcast)
            {
                format = Format.Hazelcast;
                return RequireHazelcast(_hazelcast).Write(value, context);
            }

            if (preferred == Format.Json)
            {
                format = Format.Json;
                return JsonStrings.Write(value, codecs.Json, context);
            }

            format = Format.Text;
            return value is null ? ReadOnlyMemory<byte>.Empty : context.KeepUtf8(value);
        }
    }

    /// <summary>
    /// Bytes as they are on the wire, except FORMAT_HAZELCAST, where byte[] is Hazelcast's byte-array
    /// type (take <see cref="ReadOnlyMemory{T}"/> for the raw <c>Data</c>); results keep the input's format.
    /// </summary>
    private sealed class ByteArrayBinder(PayloadCodecs codecs) : PayloadBinder<byte[]?>
    {
        private readonly HazelcastCodec<byte[]?>? _hazelcast = codecs.Hazelcast?.CodecFor<byte[]?>();

        public override byte[]? Read(ReadOnlyMemory<byte> data, Format format, InvocationContext context) =>
            format == Format.Hazelcast ? RequireHazelcast(_hazelcast).Read(data, context) : data.ToArray();

        public override ReadOnlyMemory<byte> Write(byte[]? value, Format preferred, InvocationContext context, out Format format)
        {
            if (preferred == Format.Hazelcast && _hazelcast is not null)
            {
                format = Format.Hazelcast;
                return _hazelcast.Write(value, context);
            }

            format = preferred;
            return value;
        }
    }

    /// <summary>
    /// The item's bytes without a copy: a slice of the batch's pooled buffer, valid until the call
    /// returns (documented on the attribute); a function that keeps it copies it.
    /// </summary>
    private sealed class MemoryBinder : PayloadBinder<ReadOnlyMemory<byte>>
    {
        public override ReadOnlyMemory<byte> Read(ReadOnlyMemory<byte> data, Format format, InvocationContext context) => data;

        public override ReadOnlyMemory<byte> Write(ReadOnlyMemory<byte> value, Format preferred, InvocationContext context, out Format format)
        {
            format = preferred;
            return value;
        }
    }

    /// <summary>POCOs: JSON, or Hazelcast when the item says so and the codec can bind the type.</summary>
    private sealed class ObjectBinder<T>(PayloadCodecs codecs) : PayloadBinder<T>
    {
        // Built once per binder, at load: a type the binding cannot map fails the load, not an item.
        private readonly HazelcastCodec<T>? _hazelcast = codecs.Hazelcast?.CodecFor<T>();
        // Built at the first JSON item, not at load: it needs System.Text.Json's metadata for the type,
        // which costs ~80 JIT-compiled methods and 15-20 ms of startup (docs/performance.md).
        private readonly Lazy<JsonFieldCheck?> _fields = new(() => JsonFieldCheck.For(typeof(T), codecs.Json));

        public override T Read(ReadOnlyMemory<byte> data, Format format, InvocationContext context)
        {
            if (format == Format.Hazelcast)
            {
                return RequireHazelcast(_hazelcast).Read(data, context);
            }

            _fields.Value?.Check(data.Span, context);
            return JsonSerializer.Deserialize<T>(data.Span, codecs.Json)!;
        }

        public override ReadOnlyMemory<byte> Write(T value, Format preferred, InvocationContext context, out Format format)
        {
            if (preferred == Format.Hazelcast && _hazelcast is { CanWrite: true } hz)
            {
                format = Format.Hazelcast;
                return hz.Write(value, context);
            }

            format = Format.Json;
            return JsonSerializer.SerializeToUtf8Bytes(value, codecs.Json);
        }
    }

    private static HazelcastCodec<T> RequireHazelcast<T>(HazelcastCodec<T>? codec) =>
        codec ?? throw new PayloadBindingException("FORMAT_HAZELCAST is not supported by this runtime");
}

/// <summary>Reads and writes one CLR type.</summary>
internal abstract class PayloadBinder<T>
{
    public abstract T Read(ReadOnlyMemory<byte> data, Format format, InvocationContext context);

    /// <summary>Encodes a result; the bytes must stay valid until the item ends (see <see cref="InvocationContext.Keep"/>).</summary>
    public abstract ReadOnlyMemory<byte> Write(T value, Format preferred, InvocationContext context, out Format format);
}

/// <summary>The hook the Hazelcast codec plugs into.</summary>
internal interface IHazelcastBinding
{
    /// <summary>A signature description for types it binds (e.g. <c>compact:some-thing</c>), else null.</summary>
    string? Describe(Type type);

    /// <summary>
    /// The codec for <typeparamref name="T"/>, built once when a function is bound; throws
    /// <see cref="NotSupportedException"/> naming the problem for a type it cannot map.
    /// </summary>
    HazelcastCodec<T> CodecFor<T>();

    /// <summary>A user assembly was loaded: look in it for Compact serializers.</summary>
    void AddUserAssembly(Assembly assembly);
}

/// <summary>Reads and writes one CLR type as Hazelcast <c>Data</c>. Thread-safe.</summary>
internal abstract class HazelcastCodec<T>
{
    /// <summary>Whether results of this type can be written as Hazelcast; if not, they are written as JSON.</summary>
    public abstract bool CanWrite { get; }

    /// <summary>Decodes; bad data throws <see cref="PayloadBindingException"/> (DECODE or UNKNOWN_SCHEMA).</summary>
    public abstract T Read(ReadOnlyMemory<byte> data, InvocationContext context);

    /// <summary>Encodes into memory valid until the item ends; failures throw <see cref="PayloadBindingException"/> (ENCODE).</summary>
    public abstract ReadOnlyMemory<byte> Write(T value, InvocationContext context);
}

/// <summary>A payload could not be bound to, or produced from, the function's types.</summary>
internal sealed class PayloadBindingException : Exception
{
    public PayloadBindingException(string message, Exception? inner = null, ItemError.Types.Code code = ItemError.Types.Code.Decode)
        : base(message, inner) => Code = code;

    /// <summary>The item error code: DECODE, ENCODE or UNKNOWN_SCHEMA.</summary>
    public ItemError.Types.Code Code { get; }
}

using System.Text;
using Jex.Testing.Internal;

namespace Jex.Testing;

/// <summary>
/// One item for a function: a value, and optionally a key, each with its <see cref="JexFormat"/>,
/// as a member would send it. Compact values carry the schemas of their records. Immutable: the
/// <c>With...</c> methods return a new input.
/// </summary>
/// <example>
/// <code>
/// JexInput.Json("""{"id":"o-1","quantity":2}""")
/// JexInput.Text("the quick fox").WithKey("line-1")
/// JexInput.Entry("user-7", JexInput.Text("hello"))
/// JexInput.Compact(new Order { Id = "o-1" })
/// </code>
/// </example>
public sealed class JexInput
{
    private JexInput(byte[] value, JexFormat valueFormat, byte[]? key, JexFormat keyFormat, IReadOnlyList<JexCompactSchema> schemas)
    {
        Value = value;
        ValueFormat = valueFormat;
        // Not an assignment of key itself: a null byte[] converts to an empty, non-null memory.
        if (key is not null)
        {
            Key = new ReadOnlyMemory<byte>(key);
        }
        KeyFormat = keyFormat;
        Schemas = schemas;
    }

    /// <summary>The value's bytes.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The value's format.</summary>
    public JexFormat ValueFormat { get; }

    /// <summary>
    /// The key's bytes, or null when the input has none; then the key is
    /// <see cref="TestJexContext.RawKey"/> (as <see cref="JexFormat.Bytes"/>), empty by default.
    /// </summary>
    public ReadOnlyMemory<byte>? Key { get; }

    /// <summary>The key's format; meaningful when <see cref="Key"/> is set.</summary>
    public JexFormat KeyFormat { get; }

    /// <summary>The Compact schemas this input's Hazelcast key and value use, announced to the function's session before it runs.</summary>
    public IReadOnlyList<JexCompactSchema> Schemas { get; }

    /// <summary>A UTF-8 JSON value, sent as it is (it is not checked or reformatted).</summary>
    public static JexInput Json(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new JexInput(Encoding.UTF8.GetBytes(json), JexFormat.Json, null, JexFormat.Text, []);
    }

    /// <summary>A UTF-8 text value.</summary>
    public static JexInput Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new JexInput(Encoding.UTF8.GetBytes(text), JexFormat.Text, null, JexFormat.Text, []);
    }

    /// <summary>An opaque bytes value (copied).</summary>
    public static JexInput Bytes(ReadOnlySpan<byte> bytes) => new(bytes.ToArray(), JexFormat.Bytes, null, JexFormat.Text, []);

    /// <summary>
    /// Raw Hazelcast <c>Data</c> (copied), with the schemas of any Compact records it holds, as a
    /// member's Schemas message would announce them.
    /// </summary>
    public static JexInput HazelcastData(ReadOnlySpan<byte> data, params IEnumerable<JexCompactSchema> schemas) =>
        new(data.ToArray(), JexFormat.Hazelcast, null, JexFormat.Text, [.. schemas]);

    /// <summary>
    /// <paramref name="value"/> as Hazelcast Compact <c>Data</c>, encoded by the runtime's own
    /// Compact codec (a <c>[CompactType]</c> class, or a type with an <c>ICompactSerializer</c> in
    /// its assembly), with the schemas it uses. Throws <see cref="ArgumentException"/> for a type the
    /// runtime would not write as Compact.
    /// </summary>
    public static JexInput Compact<T>(T value)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(value);
        var (data, schemas) = RuntimeAdapter.EncodeCompact(value);
        return new JexInput(data, JexFormat.Hazelcast, null, JexFormat.Text, schemas);
    }

    /// <summary>
    /// A map entry: <paramref name="key"/> as the item's key (text, or a Hazelcast string when the
    /// value is Hazelcast, as a Jet pipeline sends map keys) and <paramref name="value"/>'s value.
    /// For a function that takes <c>MapEntry&lt;TKey, TValue&gt;</c>, or reads the key.
    /// </summary>
    public static JexInput Entry(string key, JexInput value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.WithKey(key);
    }

    /// <summary>A map entry whose key is <paramref name="key"/>'s value, in its format (and with its schemas).</summary>
    public static JexInput Entry(JexInput key, JexInput value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.WithKey(key);
    }

    /// <summary>
    /// This input keyed by <paramref name="key"/>: UTF-8 text, or a Hazelcast string when the value
    /// is <see cref="JexFormat.Hazelcast"/>.
    /// </summary>
    public JexInput WithKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ValueFormat == JexFormat.Hazelcast
            ? new JexInput(Value.ToArray(), ValueFormat, RuntimeAdapter.EncodeHazelcastString(key), JexFormat.Hazelcast, Schemas)
            : new JexInput(Value.ToArray(), ValueFormat, Encoding.UTF8.GetBytes(key), JexFormat.Text, Schemas);
    }

    /// <summary>This input keyed by <paramref name="key"/>'s value, in its format; the schemas of both are kept.</summary>
    public JexInput WithKey(JexInput key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new JexInput(Value.ToArray(), ValueFormat, key.Value.ToArray(), key.ValueFormat, [.. Schemas, .. key.Schemas]);
    }

    /// <summary>This input keyed by raw bytes in <paramref name="format"/>.</summary>
    public JexInput WithKey(ReadOnlySpan<byte> key, JexFormat format) =>
        new(Value.ToArray(), ValueFormat, key.ToArray(), format, Schemas);

    /// <inheritdoc />
    public override string ToString() =>
        $"{ValueFormat} value of {Value.Length} B" + (Key is { } k ? $", {KeyFormat} key of {k.Length} B" : string.Empty);
}

using System.Text;
using System.Text.Json;
using Jex.Testing.Internal;

namespace Jex.Testing;

/// <summary>
/// What one item produced, as jex-runtime would answer it: outputs (none when the function
/// filtered the item out, several for a flat-map) or an item error.
/// </summary>
public sealed class JexResult
{
    private readonly IReadOnlyList<JexOutput> _outputs;

    internal JexResult(IReadOnlyList<JexOutput> outputs, JexItemError? error, IReadOnlyList<JexCompactSchema> schemas)
    {
        _outputs = outputs;
        Error = error;
        Schemas = schemas;
    }

    /// <summary>The item error when the function failed (threw, or its input or result could not be bound), else null.</summary>
    public JexItemError? Error { get; }

    /// <summary>Whether the item failed; see <see cref="Error"/>.</summary>
    public bool Failed => Error is not null;

    /// <summary>Whether the function ran and produced no output (returned null or an empty sequence).</summary>
    public bool Filtered => Error is null && _outputs.Count == 0;

    /// <summary>
    /// The outputs in order, with the exact bytes and formats the runtime sends. Reading them from a
    /// failed result throws <see cref="JexItemFailedException"/> with the item error, so a failure
    /// is not mistaken for a filtered item.
    /// </summary>
    public IReadOnlyList<JexOutput> Outputs => Error is null ? _outputs : throw new JexItemFailedException(Error);

    /// <summary>Every output's value as UTF-8 text (for text and JSON outputs).</summary>
    public IReadOnlyList<string> Texts => [.. Outputs.Select(o => o.Text)];

    /// <summary>
    /// The Compact schemas of this call's outputs that the runtime sends the member (once per
    /// session, before the first result that uses them); empty unless outputs are Compact.
    /// </summary>
    public IReadOnlyList<JexCompactSchema> Schemas { get; }

    /// <summary>The single output's value deserialized from JSON; throws when there is not exactly one output.</summary>
    public T Json<T>() => Single().Json<T>();

    /// <summary>The single output's value decoded from Hazelcast Compact into <typeparamref name="T"/> by the runtime's codec.</summary>
    public T Compact<T>() => Single().Compact<T>(Schemas);

    /// <summary>Throws <see cref="JexItemFailedException"/> when the item failed; returns this result otherwise.</summary>
    public JexResult EnsureSucceeded() => Error is null ? this : throw new JexItemFailedException(Error);

    private JexOutput Single()
    {
        var outputs = Outputs;
        return outputs.Count == 1
            ? outputs[0]
            : throw new InvalidOperationException($"the result has {outputs.Count} outputs, not one: read Outputs instead");
    }

    /// <inheritdoc />
    public override string ToString() => Error is { } e
        ? $"error {e}"
        : _outputs.Count == 0 ? "filtered (no output)" : string.Join("; ", _outputs);
}

/// <summary>One output of an item: a key and a value with their formats, byte for byte as the runtime sends it.</summary>
public sealed class JexOutput
{
    internal JexOutput(byte[] key, JexFormat keyFormat, byte[] value, JexFormat valueFormat)
    {
        Key = key;
        KeyFormat = keyFormat;
        Value = value;
        ValueFormat = valueFormat;
    }

    /// <summary>The key: the input's key for a function that returns a value, the entry's key for one that returns a <c>MapEntry</c>.</summary>
    public byte[] Key { get; }

    /// <summary>The key's format.</summary>
    public JexFormat KeyFormat { get; }

    /// <summary>The value's bytes.</summary>
    public byte[] Value { get; }

    /// <summary>
    /// The value's format: <see cref="JexFormat.Text"/> for a string, <see cref="JexFormat.Json"/>
    /// for a POCO, the input's format for bytes, <see cref="JexFormat.Hazelcast"/> for a Hazelcast input.
    /// </summary>
    public JexFormat ValueFormat { get; }

    /// <summary>The value as UTF-8 text.</summary>
    public string Text => Encoding.UTF8.GetString(Value);

    /// <summary>The key as UTF-8 text (for a Hazelcast key, decode it with <see cref="KeyAsHazelcastString"/>).</summary>
    public string KeyText => Encoding.UTF8.GetString(Key);

    /// <summary>The value deserialized from JSON with the runtime's options (System.Text.Json web defaults).</summary>
    public T Json<T>() => JsonSerializer.Deserialize<T>(Value, RuntimeAdapter.JsonOptions)!;

    /// <summary>The key decoded as a Hazelcast string (what a Jet map key usually is).</summary>
    public string? KeyAsHazelcastString() => RuntimeAdapter.DecodeHazelcastString(Key);

    /// <summary>The value decoded from Hazelcast Compact into <typeparamref name="T"/> by the runtime's codec, reading schemas from <paramref name="schemas"/>.</summary>
    public T Compact<T>(IEnumerable<JexCompactSchema> schemas) => RuntimeAdapter.DecodeCompact<T>(Value, [.. schemas]);

    /// <inheritdoc />
    public override string ToString() => $"{Describe(Key, KeyFormat)} -> {Describe(Value, ValueFormat)}";

    private static string Describe(byte[] bytes, JexFormat format) =>
        format is JexFormat.Text or JexFormat.Json ? $"{format}:{Encoding.UTF8.GetString(bytes)}" : $"{format}:{Convert.ToHexString(bytes)}";
}

/// <summary>Item error codes, as in the protocol's <c>ItemError.Code</c>.</summary>
public enum JexErrorCode
{
    /// <summary>The function threw.</summary>
    UserException = 1,

    /// <summary>The call ran past its deadline.</summary>
    DeadlineExceeded = 2,

    /// <summary>The call was cancelled (in the kit: the context's token was cancelled).</summary>
    Cancelled = 3,

    /// <summary>The key or value could not be bound to the function's parameter.</summary>
    Decode = 4,

    /// <summary>The result could not be encoded.</summary>
    Encode = 5,

    /// <summary>A Compact schema id that no schema announced: give the input its schemas.</summary>
    UnknownSchema = 6,

    /// <summary>The batch was too large (not produced by the kit).</summary>
    BatchTooLarge = 7,

    /// <summary>The outputs did not fit in one message (not produced by the kit).</summary>
    ResultTooLarge = 8,

    /// <summary>The runtime was overloaded (not produced by the kit).</summary>
    Overloaded = 9,
}

/// <summary>A failed item, as the runtime reports it to the member.</summary>
/// <param name="Code">What failed.</param>
/// <param name="Type">The exception's full type name (for a binding error, the underlying exception's).</param>
/// <param name="Message">The message: the exception's, or for a binding error the runtime's, naming the type it bound to.</param>
/// <param name="Stack">
/// The exception's stack trace. The user's own frames are those the runtime reports; framework frames
/// can differ where the two processes inlined differently, and below them the runtime's stack ends in
/// its batch loop and the kit's in its own adapter.
/// </param>
public sealed record JexItemError(JexErrorCode Code, string Type, string Message, string Stack)
{
    /// <inheritdoc />
    public override string ToString() => $"{Code} {Type}: {Message}";
}

/// <summary>Thrown when a failed item's outputs are read; carries the <see cref="JexItemError"/>.</summary>
public sealed class JexItemFailedException : Exception
{
    /// <summary>Wraps an item error.</summary>
    public JexItemFailedException(JexItemError error)
        : base($"the item failed with {error.Code} {error.Type}: {error.Message} (check JexResult.Error before reading outputs)\n{error.Stack}") =>
        Error = error;

    /// <summary>The item error.</summary>
    public JexItemError Error { get; }
}

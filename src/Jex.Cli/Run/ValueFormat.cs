using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>
/// How entries of the embedded map are encoded for the runtime and shown to the user. Chosen by
/// the transform's <c>format:</c> key; "json" for now (keys UTF-8 text, values JSON). The Hazelcast
/// codec adds "compact" by implementing this.
/// </summary>
internal interface IValueFormat
{
    string Name { get; }

    Format KeyFormat { get; }

    Format ValueFormat { get; }

    ByteString EncodeKey(string key);

    /// <summary>Encodes a value given as JSON in an input file.</summary>
    ByteString EncodeValue(JsonElement value);

    /// <summary>Writes a value for an output file, as JSON.</summary>
    void WriteValue(Utf8JsonWriter writer, ByteString value, Format format);

    /// <summary>The demo's rendering, e.g. <c>SomeThing(Value=20)</c>; <paramref name="typeName"/> may be null.</summary>
    string Display(ByteString value, Format format, string? typeName);
}

internal static class ValueFormats
{
    public static IValueFormat Create(string name) => name switch
    {
        "json" => new JsonValueFormat(),
        "text" => new TextValueFormat(),
        _ => throw new ArgumentException($"unsupported format '{name}'", nameof(name)),
    };

    /// <summary>
    /// A value as JSON by the format its bytes are in: JSON as itself (checked), text as a string,
    /// anything else (binary) as base64. What the json and text formats both write to --output.
    /// </summary>
    public static void WriteAsJson(Utf8JsonWriter writer, ByteString value, Format format)
    {
        switch (format)
        {
            case Format.Json:
                writer.WriteRawValue(value.Span, skipInputValidation: false);
                break;
            case Format.Text:
                writer.WriteStringValue(Encoding.UTF8.GetString(value.Span));
                break;
            default:
                writer.WriteBase64StringValue(value.Span);
                break;
        }
    }

    /// <summary>"json:Jex.Samples.SomeThing" or "compact:some-thing" -> "SomeThing"; null when the kind names no type.</summary>
    public static string? TypeNameOf(string? kind)
    {
        if (string.IsNullOrEmpty(kind))
        {
            return null;
        }

        var colon = kind.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return null;
        }

        var type = kind[(colon + 1)..];
        if (kind.StartsWith("compact:", StringComparison.Ordinal))
        {
            // A Compact type name ("other-thing") is shown like the class it maps ("OtherThing").
            return string.Concat(type.Split(['-', '_'], StringSplitOptions.RemoveEmptyEntries)
                .Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
        }

        var dot = type.LastIndexOfAny(['.', '+']);
        return dot >= 0 ? type[(dot + 1)..] : type;
    }
}

internal sealed class JsonValueFormat : IValueFormat
{
    public string Name => "json";

    public Format KeyFormat => Format.Text;

    public Format ValueFormat => Format.Json;

    public ByteString EncodeKey(string key) => ByteString.CopyFromUtf8(key);

    public ByteString EncodeValue(JsonElement value) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(value));

    public void WriteValue(Utf8JsonWriter writer, ByteString value, Format format) => ValueFormats.WriteAsJson(writer, value, format);

    public string Display(ByteString value, Format format, string? typeName)
    {
        if (format != Format.Json)
        {
            return format == Format.Text ? Encoding.UTF8.GetString(value.Span) : Convert.ToBase64String(value.Span);
        }

        using var doc = JsonDocument.Parse(value.Memory);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || typeName is null)
        {
            return root.GetRawText();
        }

        // SomeThing(Value=20): the seed printed its C# objects this way.
        var fields = root.EnumerateObject().Select(p => $"{Pascal(p.Name)}={Show(p.Value)}");
        return $"{typeName}({string.Join(", ", fields)})";
    }

    private static string Pascal(string name) =>
        name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name[1..];

    private static string Show(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Null => "null",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => value.GetBoolean().ToString(CultureInfo.InvariantCulture),
        _ => value.GetRawText(),
    };
}

/// <summary>
/// Keys and values as UTF-8 text: for functions over <c>string</c>. An input value that is a JSON
/// string is taken as its text; any other JSON value as its JSON text.
/// </summary>
internal sealed class TextValueFormat : IValueFormat
{
    public string Name => "text";

    public Format KeyFormat => Format.Text;

    public Format ValueFormat => Format.Text;

    public ByteString EncodeKey(string key) => ByteString.CopyFromUtf8(key);

    public ByteString EncodeValue(JsonElement value) =>
        ByteString.CopyFromUtf8(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText());

    public void WriteValue(Utf8JsonWriter writer, ByteString value, Format format) => ValueFormats.WriteAsJson(writer, value, format);

    public string Display(ByteString value, Format format, string? typeName) =>
        format is Format.Text or Format.Json ? Encoding.UTF8.GetString(value.Span) : Convert.ToBase64String(value.Span);
}

using System.Buffers;
using System.Text.Json;

namespace Jex.Runtime.UserCode;

/// <summary>
/// A <c>string</c> parameter or result in FORMAT_JSON: the payload is a JSON string literal, so
/// <c>"abc"</c> binds to <c>abc</c> and a returned <c>abc</c> is written as <c>"abc"</c>.
/// </summary>
internal static class JsonStrings
{
    // An encoder buffer kept per thread is reused for the next write; a huge one is not kept.
    private const int MaxRetained = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The value of a JSON string (escapes decoded); JSON <c>null</c> is null and an empty payload is
    /// the empty string. Anything else is an item error naming the function and the JSON kind found.
    /// </summary>
    public static string? Read(ReadOnlySpan<byte> data, InvocationContext context)
    {
        if (data.IsEmpty)
        {
            return string.Empty;
        }

        var reader = new Utf8JsonReader(data);
        JsonTokenType kind;
        try
        {
            reader.Read();
            kind = reader.TokenType;
            if (kind is JsonTokenType.String or JsonTokenType.Null)
            {
                var value = reader.GetString();
                if (reader.Read())
                {
                    throw new JsonException("more data follows the string");
                }

                return value;
            }
        }
        catch (JsonException e)
        {
            throw new PayloadBindingException(
                $"function '{context.FunctionName}' takes a string, but the item is not valid JSON: {e.Message}; if the items are plain text, set the transform's format to text", e);
        }

        throw new PayloadBindingException(
            $"function '{context.FunctionName}' takes a string, but the JSON item is {KindName(kind)}, not a string; " +
            "set the transform's format to text to receive the raw text, or take a class or JsonElement parameter");
    }

    /// <summary>
    /// The value as a JSON string literal, in memory valid until the item ends. Escaped by the same
    /// encoder as class results (<see cref="PayloadCodecs.Json"/>), so a quote is <c>\u0022</c> and
    /// non-ASCII is <c>\uXXXX</c>: valid JSON either way, and one style in a job's output.
    /// </summary>
    public static ReadOnlyMemory<byte> Write(string? value, JsonSerializerOptions options, InvocationContext context)
    {
        var buffer = t_buffer;
        if (buffer is null || buffer.Capacity > MaxRetained)
        {
            buffer = t_buffer = new ArrayBufferWriter<byte>(256);
            t_writer = null;
        }

        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, SkipValidation = true });
        writer.Reset(buffer);
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }

        writer.Flush();
        return context.Keep(buffer.WrittenSpan);
    }

    private static string KindName(JsonTokenType kind) => kind switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => kind.ToString(),
    };
}

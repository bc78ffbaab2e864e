using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Values;

namespace Jex.Hazelcast.Json;

/// <summary>
/// The JSON shape of Hazelcast values, as <c>jex data decode</c> prints them and
/// <c>jex data encode</c> reads them: int64 exact; float NaN and infinities as the strings
/// "NaN", "Infinity", "-Infinity"; byte[] as base64; UUID canonical; HazelcastJsonValue as the
/// embedded JSON; DECIMAL as a plain-notation string; DATE/TIME/TIMESTAMP(_WITH_TIMEZONE) as ISO
/// text; Compact as an object whose first member is "$type", then the fields in schema order.
/// </summary>
internal static class HazelcastJson
{
    public const string TypeProperty = "$type";

    /// <summary>Top-level kinds <c>jex data encode --as</c> accepts.</summary>
    public static readonly IReadOnlyList<string> Kinds =
    [
        "null", "bool", "int8", "int16", "int32", "int64", "float32", "float64", "string", "bytes", "uuid", "json", "compact",
        "char", "array-of-bool", "array-of-char", "array-of-int16", "array-of-int32", "array-of-int64",
        "array-of-float32", "array-of-float64", "array-of-string",
    ];

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Non-ASCII text stays readable; this is output for people and tools, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string ToJson(object? value, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions with { Indented = indented }))
        {
            Write(writer, value);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public static void Write(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case sbyte v: w.WriteNumberValue(v); break;
            case byte v: w.WriteNumberValue(v); break;
            case short v: w.WriteNumberValue(v); break;
            case int v: w.WriteNumberValue(v); break;
            case long v: w.WriteNumberValue(v); break;
            case float v: WriteFloat(w, v); break;
            case double v: WriteDouble(w, v); break;
            case char c: w.WriteStringValue(c.ToString()); break;
            case string s: w.WriteStringValue(s); break;
            // An sbyte[] also matches "is byte[]" at run time (CLR array variance): test the exact type first.
            case sbyte[] int8s when value.GetType() == typeof(sbyte[]):
                w.WriteStartArray();
                foreach (var v in int8s)
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
                break;
            case byte[] bytes: w.WriteBase64StringValue(bytes); break;
            case Guid g: w.WriteStringValue(g.ToString("D")); break;
            case HazelcastJsonValue json: WriteEmbeddedJson(w, json.Text); break;
            case HzDecimal d: w.WriteStringValue(d.ToString()); break;
            case HzLocalDate d: w.WriteStringValue(d.ToString()); break;
            case HzLocalTime t: w.WriteStringValue(t.ToString()); break;
            case HzLocalDateTime t: w.WriteStringValue(t.ToString()); break;
            case HzOffsetDateTime t: w.WriteStringValue(t.ToString()); break;
            case CompactRecord record:
                w.WriteStartObject();
                w.WriteString(TypeProperty, record.TypeName);
                foreach (var f in record.Schema.Fields)
                {
                    w.WritePropertyName(f.Name);
                    Write(w, record[f.Ordinal]);
                }

                w.WriteEndObject();
                break;
            case System.Collections.IEnumerable items:
                w.WriteStartArray();
                foreach (var item in items)
                {
                    Write(w, item);
                }

                w.WriteEndArray();
                break;
            default: throw new HazelcastCodecException($"a {value.GetType().Name} has no JSON form");
        }
    }

    private static void WriteFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v))
        {
            w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        }
        else
        {
            w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteDouble(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        }
        else
        {
            w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteEmbeddedJson(Utf8JsonWriter w, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            doc.RootElement.WriteTo(w);
        }
        catch (JsonException)
        {
            // A HazelcastJsonValue is not validated by Hazelcast; show text that is not JSON as a string.
            w.WriteStringValue(text);
        }
    }

    /// <summary>Converts JSON in the shape above to the value of a top-level kind (see <see cref="Kinds"/>).</summary>
    public static object? FromJson(JsonElement e, string kind, SchemaRegistry schemas) => kind switch
    {
        "null" => e.ValueKind == JsonValueKind.Null ? null : Fail<object>("null", e, "expected null"),
        "bool" => GetBool(e, "value"),
        "int8" => GetInt8(e, "value"),
        "int16" => GetInt16(e, "value"),
        "int32" => GetInt32(e, "value"),
        "int64" => GetInt64(e, "value"),
        "float32" => GetFloat32(e, "value"),
        "float64" => GetFloat64(e, "value"),
        "char" => e.ValueKind == JsonValueKind.String && e.GetString() is { Length: 1 } c ? c[0] : Fail<char>("value", e, "expected a string of one UTF-16 character"),
        "string" => e.ValueKind == JsonValueKind.String ? e.GetString() : Fail<string>("value", e, "expected a string"),
        "bytes" => GetBytes(e, "value"),
        "uuid" => e.ValueKind == JsonValueKind.String && Guid.TryParseExact(e.GetString(), "D", out var g) ? g : Fail<Guid>("value", e, "expected a UUID string like 123e4567-e89b-12d3-a456-426614174000"),
        "json" => new HazelcastJsonValue(e.GetRawText()),
        "compact" => ToRecord(e, "value", schemas),
        "array-of-bool" => Array(e, "value", GetBool),
        "array-of-char" => Array(e, "value", static (x, p) => x.GetString() is { Length: 1 } c ? c[0] : Fail<char>(p, x, "expected a string of one UTF-16 character")),
        "array-of-int16" => Array(e, "value", GetInt16),
        "array-of-int32" => Array(e, "value", GetInt32),
        "array-of-int64" => Array(e, "value", GetInt64),
        "array-of-float32" => Array(e, "value", GetFloat32),
        "array-of-float64" => Array(e, "value", GetFloat64),
        "array-of-string" => Array(e, "value", static (x, p) => x.ValueKind == JsonValueKind.Null ? null : x.ValueKind == JsonValueKind.String ? x.GetString() : Fail<string>(p, x, "expected a string or null")),
        _ => throw new HazelcastCodecException($"unknown kind '{kind}'; use one of: {string.Join(' ', Kinds)}"),
    };

    private static T Fail<T>(string path, JsonElement e, string expected) =>
        throw new HazelcastCodecException($"{path}: {expected}, got {Describe(e)}");

    private static string Describe(JsonElement e)
    {
        string text = e.GetRawText();
        return text.Length > 60 ? text[..57] + "..." : text;
    }

    private static bool GetBool(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => Fail<bool>(path, e, "expected true or false"),
    };

    private static sbyte GetInt8(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetSByte(out var v) ? v : Fail<sbyte>(path, e, "expected an int8 number");

    private static short GetInt16(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt16(out var v) ? v : Fail<short>(path, e, "expected an int16 number");

    private static int GetInt32(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : Fail<int>(path, e, "expected an int32 number");

    private static long GetInt64(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : Fail<long>(path, e, "expected an int64 number");

    private static float GetFloat32(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.Number => float.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => float.NaN,
            "Infinity" => float.PositiveInfinity,
            "-Infinity" => float.NegativeInfinity,
            _ => Fail<float>(path, e, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\""),
        },
        _ => Fail<float>(path, e, "expected a number"),
    };

    private static double GetFloat64(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.Number => double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => Fail<double>(path, e, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\""),
        },
        _ => Fail<double>(path, e, "expected a number"),
    };

    private static byte[] GetBytes(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String && e.TryGetBytesFromBase64(out var bytes) ? bytes : Fail<byte[]>(path, e, "expected base64 text");

    private static T[] Array<T>(JsonElement e, string path, Func<JsonElement, string, T> item)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            return Fail<T[]>(path, e, "expected an array");
        }

        var result = new T[e.GetArrayLength()];
        int i = 0;
        foreach (var x in e.EnumerateArray())
        {
            result[i] = item(x, $"{path}[{i}]");
            i++;
        }

        return result;
    }

    private static T?[] NullableArray<T>(JsonElement e, string path, Func<JsonElement, string, T> item)
        where T : struct =>
        Array(e, path, (x, p) => x.ValueKind == JsonValueKind.Null ? (T?)null : item(x, p));

    private static string Text(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : Fail<string>(path, e, "expected a string");

    /// <summary>A Compact object: "$type" picks the schema (by type name); every field of the schema must be present.</summary>
    public static CompactRecord ToRecord(JsonElement e, string path, SchemaRegistry schemas)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return Fail<CompactRecord>(path, e, "expected a Compact object with \"$type\"");
        }

        if (!e.TryGetProperty(TypeProperty, out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
        {
            return Fail<CompactRecord>(path, e, "expected a \"$type\" string member naming the Compact type");
        }

        string typeName = typeElement.GetString()!;
        if (!schemas.TryGetByTypeName(typeName, out var schema))
        {
            throw new HazelcastCodecException($"{path}: no schema for Compact type '{typeName}' (pass it with --schemas FILE)");
        }

        var values = new object?[schema.Fields.Count];
        var seen = new bool[schema.Fields.Count];
        foreach (var property in e.EnumerateObject())
        {
            if (property.NameEquals(TypeProperty))
            {
                continue;
            }

            var field = schema.Find(property.Name)
                ?? throw new HazelcastCodecException($"{path}.{property.Name}: '{typeName}' has no field '{property.Name}'");
            values[field.Ordinal] = FieldFromJson(property.Value, field.Kind, $"{path}.{field.Name}", schemas);
            seen[field.Ordinal] = true;
        }

        foreach (var f in schema.Fields)
        {
            if (!seen[f.Ordinal])
            {
                throw new HazelcastCodecException($"{path}: missing field '{f.Name}' ({f.Kind}) of '{typeName}'");
            }
        }

        return new CompactRecord(schema, values);
    }

    public static object? FieldFromJson(JsonElement e, FieldKind kind, string path, SchemaRegistry schemas)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            return FieldKinds.FixedSize(kind) >= 0
                ? Fail<object>(path, e, $"a {kind} cannot be null")
                : null;
        }

        return kind switch
        {
            FieldKind.BOOLEAN or FieldKind.NULLABLE_BOOLEAN => GetBool(e, path),
            FieldKind.INT8 or FieldKind.NULLABLE_INT8 => GetInt8(e, path),
            FieldKind.INT16 or FieldKind.NULLABLE_INT16 => GetInt16(e, path),
            FieldKind.INT32 or FieldKind.NULLABLE_INT32 => GetInt32(e, path),
            FieldKind.INT64 or FieldKind.NULLABLE_INT64 => GetInt64(e, path),
            FieldKind.FLOAT32 or FieldKind.NULLABLE_FLOAT32 => GetFloat32(e, path),
            FieldKind.FLOAT64 or FieldKind.NULLABLE_FLOAT64 => GetFloat64(e, path),
            FieldKind.STRING => Text(e, path),
            FieldKind.DECIMAL => GetDecimal(e, path),
            FieldKind.TIME => GetTime(e, path),
            FieldKind.DATE => GetDate(e, path),
            FieldKind.TIMESTAMP => GetTimestamp(e, path),
            FieldKind.TIMESTAMP_WITH_TIMEZONE => GetTimestampWithTimezone(e, path),
            FieldKind.COMPACT => ToRecord(e, path, schemas),
            FieldKind.ARRAY_OF_BOOLEAN => Array(e, path, GetBool),
            FieldKind.ARRAY_OF_INT8 => Array(e, path, GetInt8),
            FieldKind.ARRAY_OF_INT16 => Array(e, path, GetInt16),
            FieldKind.ARRAY_OF_INT32 => Array(e, path, GetInt32),
            FieldKind.ARRAY_OF_INT64 => Array(e, path, GetInt64),
            FieldKind.ARRAY_OF_FLOAT32 => Array(e, path, GetFloat32),
            FieldKind.ARRAY_OF_FLOAT64 => Array(e, path, GetFloat64),
            FieldKind.ARRAY_OF_STRING => Array(e, path, static (x, p) => x.ValueKind == JsonValueKind.Null ? null : Text(x, p)),
            FieldKind.ARRAY_OF_DECIMAL => NullableArray(e, path, GetDecimal),
            FieldKind.ARRAY_OF_TIME => NullableArray(e, path, GetTime),
            FieldKind.ARRAY_OF_DATE => NullableArray(e, path, GetDate),
            FieldKind.ARRAY_OF_TIMESTAMP => NullableArray(e, path, GetTimestamp),
            FieldKind.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE => NullableArray(e, path, GetTimestampWithTimezone),
            FieldKind.ARRAY_OF_COMPACT => Array(e, path, (x, p) => x.ValueKind == JsonValueKind.Null ? null : ToRecord(x, p, schemas)),
            FieldKind.ARRAY_OF_NULLABLE_BOOLEAN => NullableArray(e, path, GetBool),
            FieldKind.ARRAY_OF_NULLABLE_INT8 => NullableArray(e, path, GetInt8),
            FieldKind.ARRAY_OF_NULLABLE_INT16 => NullableArray(e, path, GetInt16),
            FieldKind.ARRAY_OF_NULLABLE_INT32 => NullableArray(e, path, GetInt32),
            FieldKind.ARRAY_OF_NULLABLE_INT64 => NullableArray(e, path, GetInt64),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT32 => NullableArray(e, path, GetFloat32),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT64 => NullableArray(e, path, GetFloat64),
            _ => Fail<object>(path, e, $"unsupported kind {kind}"),
        };
    }

    private static HzDecimal GetDecimal(JsonElement e, string path) =>
        HzDecimal.TryParse(Text(e, path), out var d) ? d : Fail<HzDecimal>(path, e, "expected a decimal in plain notation, like \"-12345.678\"");

    private static HzLocalTime GetTime(JsonElement e, string path) =>
        HzTemporalParser.TryParseTime(Text(e, path), out var t) ? t : Fail<HzLocalTime>(path, e, "expected a time \"HH:mm:ss[.fffffffff]\"");

    private static HzLocalDate GetDate(JsonElement e, string path) =>
        HzTemporalParser.TryParseDate(Text(e, path), out var d) ? d : Fail<HzLocalDate>(path, e, "expected a date \"yyyy-MM-dd\"");

    private static HzLocalDateTime GetTimestamp(JsonElement e, string path) =>
        HzTemporalParser.TryParseDateTime(Text(e, path), out var t) ? t : Fail<HzLocalDateTime>(path, e, "expected a timestamp \"yyyy-MM-ddTHH:mm:ss[.f]\"");

    private static HzOffsetDateTime GetTimestampWithTimezone(JsonElement e, string path) =>
        HzTemporalParser.TryParseOffsetDateTime(Text(e, path), out var t) ? t : Fail<HzOffsetDateTime>(path, e, "expected a timestamp with offset \"yyyy-MM-ddTHH:mm:ss[.f]+hh:mm\"");
}

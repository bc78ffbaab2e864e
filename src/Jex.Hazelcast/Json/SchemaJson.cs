using System.Globalization;
using System.Text.Json;
using Jex.Hazelcast.Compact;

namespace Jex.Hazelcast.Json;

/// <summary>
/// The schema file format: a JSON array of <c>{"typeName": "...", "fields": [{"name": "...", "kind": "INT32"}]}</c>.
/// Kind names are Hazelcast's <c>FieldKind</c> names; field order does not matter. An optional
/// <c>"id"</c> (decimal string or number) is checked against the computed fingerprint.
/// </summary>
internal static class SchemaJson
{
    public static IReadOnlyList<Schema> Parse(string json, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new HazelcastCodecException($"{source}: not valid JSON: {e.Message}");
        }

        using (doc)
        {
            return Parse(doc.RootElement, source);
        }
    }

    public static IReadOnlyList<Schema> Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new HazelcastCodecException($"{source}: expected a JSON array of schemas");
        }

        var result = new List<Schema>();
        int i = 0;
        foreach (var s in root.EnumerateArray())
        {
            string at = $"{source}[{i++}]";
            if (s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("typeName", out var tn) || tn.ValueKind != JsonValueKind.String)
            {
                throw new HazelcastCodecException($"{at}: expected an object with a \"typeName\" string");
            }

            string typeName = tn.GetString()!;
            if (!s.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array)
            {
                throw new HazelcastCodecException($"{at} ('{typeName}'): expected a \"fields\" array");
            }

            var descriptors = new List<FieldDescriptor>();
            foreach (var f in fields.EnumerateArray())
            {
                if (f.ValueKind != JsonValueKind.Object || !f.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                    || !f.TryGetProperty("kind", out var k) || k.ValueKind != JsonValueKind.String)
                {
                    throw new HazelcastCodecException($"{at} ('{typeName}'): every field needs \"name\" and \"kind\" strings");
                }

                if (!FieldKinds.TryParse(k.GetString()!, out var kind))
                {
                    throw new HazelcastCodecException($"{at} ('{typeName}'): field '{n.GetString()}' has unknown kind '{k.GetString()}'");
                }

                descriptors.Add(new FieldDescriptor(n.GetString()!, kind));
            }

            Schema schema;
            try
            {
                schema = new Schema(typeName, descriptors);
            }
            catch (ArgumentException e)
            {
                throw new HazelcastCodecException($"{at}: {e.Message}");
            }

            if (s.TryGetProperty("id", out var id))
            {
                string text = id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long expected) || expected != schema.Id)
                {
                    throw new HazelcastCodecException($"{at} ('{typeName}'): id {text} does not match the computed schema id {schema.Id}");
                }
            }

            result.Add(schema);
        }

        return result;
    }

    public static void Write(Utf8JsonWriter w, Schema schema)
    {
        w.WriteStartObject();
        w.WriteString("typeName", schema.TypeName);
        w.WriteString("id", schema.Id.ToString(CultureInfo.InvariantCulture));
        w.WriteStartArray("fields");
        foreach (var f in schema.Fields)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WriteString("kind", f.Kind.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}

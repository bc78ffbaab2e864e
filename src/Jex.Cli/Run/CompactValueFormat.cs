using System.Buffers;
using System.Text.Json;
using Google.Protobuf;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Json;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>The transform's <c>format: compact</c> keys: the schema file, its schemas and the input's type.</summary>
/// <param name="SchemasPath">The <c>schemas:</c> file, resolved.</param>
/// <param name="Schemas">The schemas in it (at least one).</param>
/// <param name="TypeName">The Compact type of an input value that names none with <c>"$type"</c>.</param>
internal sealed record CompactSpec(string SchemasPath, IReadOnlyList<Schema> Schemas, string TypeName);

/// <summary>
/// <c>format: compact</c>: keys are UTF-8 text, values Hazelcast Compact <c>Data</c>. Input values
/// are JSON, encoded as <c>jex data encode --as compact</c> does with the job's schema file; a value
/// with no <c>"$type"</c> is of the transform's <c>type-name</c>. Outputs are decoded with the input
/// schemas and those the runtime announced, and shown and written as that JSON.
/// </summary>
internal sealed class CompactValueFormat : IValueFormat
{
    private readonly CompactSpec _spec;
    private readonly SchemaRegistry _registry;
    private readonly JsonValueFormat _json = new();
    // Only the runtime's, in arrival order: the input's are in _spec.
    private readonly List<Schema> _announced = [];

    public CompactValueFormat(CompactSpec spec)
    {
        _spec = spec;
        _registry = new SchemaRegistry();
        foreach (var schema in spec.Schemas)
        {
            _registry.Register(schema);
        }
    }

    public string Name => "compact";

    public Format KeyFormat => Format.Text;

    public Format ValueFormat => Format.Hazelcast;

    /// <summary>The Schemas message the member sends after Init on every session.</summary>
    public Schemas InputSchemas => ToMessage(_spec.Schemas);

    public ByteString EncodeKey(string key) => ByteString.CopyFromUtf8(key);

    /// <exception cref="HazelcastCodecException">The value does not fit its schema (names the field and what is wrong).</exception>
    public ByteString EncodeValue(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Object && !value.TryGetProperty(HazelcastJson.TypeProperty, out _))
        {
            value = WithType(value, _spec.TypeName);
        }

        return ByteString.CopyFrom(HazelcastSerializer.Serialize(HazelcastJson.FromJson(value, "compact", _registry)));
    }

    public void WriteValue(Utf8JsonWriter writer, ByteString value, Format format)
    {
        if (format == Format.Hazelcast)
        {
            HazelcastJson.Write(writer, HazelcastSerializer.Deserialize(value.Memory, _registry));
        }
        else
        {
            ValueFormats.WriteAsJson(writer, value, format);
        }
    }

    public string Display(ByteString value, Format format, string? typeName)
    {
        if (format != Format.Hazelcast)
        {
            return _json.Display(value, format, typeName);
        }

        object? decoded;
        try
        {
            decoded = HazelcastSerializer.Deserialize(value.Memory, _registry);
        }
        catch (HazelcastCodecException ex)
        {
            // The console line is for people; the output file (WriteValue) fails loudly instead.
            return $"<{value.Length} bytes of Hazelcast Data: {ex.Message}>";
        }

        if (decoded is not CompactRecord record)
        {
            return HazelcastJson.ToJson(decoded);
        }

        // SomeThing(Value=20), as the json format shows the same object.
        var fields = record.Schema.Fields.Select(f => $"{char.ToUpperInvariant(f.Name[0])}{f.Name[1..]}={Show(record[f.Ordinal])}");
        return $"{typeName ?? ValueFormats.TypeNameOf("compact:" + record.TypeName)}({string.Join(", ", fields)})";
    }

    /// <summary>Keeps the schemas the runtime announced, so its outputs can be decoded.</summary>
    /// <exception cref="HazelcastCodecException">A schema id is already taken by other fields.</exception>
    public void Learn(Schemas schemas)
    {
        foreach (var proto in schemas.Schemas_)
        {
            var schema = new Schema(proto.TypeName, proto.Fields.Select(f => new FieldDescriptor(f.Name, (FieldKind)f.Kind)));
            _registry.Register(schema);
            lock (_announced)
            {
                if (!_spec.Schemas.Contains(schema) && !_announced.Contains(schema))
                {
                    _announced.Add(schema);
                }
            }
        }
    }

    /// <summary>The input schemas, then those the runtime announced so far: what a recording's header keeps.</summary>
    public IReadOnlyList<CompactSchema> AllSchemas()
    {
        lock (_announced)
        {
            return [.. ToMessage(_spec.Schemas.Concat(_announced)).Schemas_];
        }
    }

    /// <summary>Encodes every entry once, so a value that does not fit its schema stops the job before it starts.</summary>
    /// <returns>Null when all fit; else one line naming the input file, its line and the problem.</returns>
    public string? CheckInput(IEnumerable<InputEntry> entries, string inputPath)
    {
        foreach (var entry in entries)
        {
            try
            {
                EncodeValue(entry.Value);
            }
            catch (HazelcastCodecException ex)
            {
                return $"{inputPath}:{entry.Line}: the value of '{entry.Key}' does not fit the Compact schemas in {_spec.SchemasPath}: {ex.Message}";
            }
        }

        return null;
    }

    private static Schemas ToMessage(IEnumerable<Schema> schemas)
    {
        var message = new Schemas();
        foreach (var schema in schemas)
        {
            var proto = new CompactSchema { Id = schema.Id, TypeName = schema.TypeName };
            proto.Fields.AddRange(schema.Fields.Select(f => new CompactField { Name = f.Name, Kind = (int)f.Kind }));
            message.Schemas_.Add(proto);
        }

        return message;
    }

    private static JsonElement WithType(JsonElement value, string typeName)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(HazelcastJson.TypeProperty, typeName);
            foreach (var property in value.EnumerateObject())
            {
                property.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => s,
        _ => HazelcastJson.ToJson(value),
    };
}

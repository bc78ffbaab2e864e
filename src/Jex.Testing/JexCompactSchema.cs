using Jex.Testing.Internal;

namespace Jex.Testing;

/// <summary>One field of a <see cref="JexCompactSchema"/>.</summary>
/// <param name="Name">The field name, as the Compact record spells it.</param>
/// <param name="Kind">Hazelcast's <c>FieldKind</c> name, for example <c>INT32</c>, <c>STRING</c> or <c>NULLABLE_INT64</c>.</param>
public sealed record JexCompactField(string Name, string Kind);

/// <summary>
/// A Hazelcast Compact schema: a type name and its fields. The id is Hazelcast's fingerprint of
/// both, computed here. Inputs in Compact form carry the schemas of the records they hold, as a
/// member announces them; results carry the schemas the runtime would send for their outputs.
/// </summary>
public sealed class JexCompactSchema
{
    internal JexCompactSchema(string typeName, long id, IReadOnlyList<JexCompactField> fields)
    {
        TypeName = typeName;
        Id = id;
        Fields = fields;
    }

    /// <summary>The Compact type name, for example <c>order</c>.</summary>
    public string TypeName { get; }

    /// <summary>The schema id: Hazelcast's Rabin fingerprint of the type name and fields.</summary>
    public long Id { get; }

    /// <summary>The fields, in Hazelcast's order (fixed-size fields first, then by name).</summary>
    public IReadOnlyList<JexCompactField> Fields { get; }

    /// <summary>A schema from its type name and fields; throws <see cref="ArgumentException"/> for an unknown field kind.</summary>
    public static JexCompactSchema Create(string typeName, params JexCompactField[] fields) =>
        RuntimeAdapter.CreateSchema(typeName, fields);

    /// <summary>
    /// Schemas in the file format <c>jex data --schemas</c> reads: a JSON array of
    /// <c>{"typeName": "order", "fields": [{"name": "id", "kind": "STRING"}]}</c>. Throws
    /// <see cref="ArgumentException"/> naming the schema at fault.
    /// </summary>
    public static IReadOnlyList<JexCompactSchema> Parse(string json) => RuntimeAdapter.ParseSchemas(json);

    /// <summary>This schema as one element of the schema file format (see <see cref="Parse"/>).</summary>
    public string ToJson() => RuntimeAdapter.SchemaToJson(this);

    /// <inheritdoc />
    public override string ToString() => $"{TypeName} ({Id}): {string.Join(", ", Fields.Select(f => $"{f.Name} {f.Kind}"))}";
}

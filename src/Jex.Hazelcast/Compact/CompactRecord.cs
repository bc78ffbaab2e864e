namespace Jex.Hazelcast.Compact;

/// <summary>
/// A Compact object read without a typed binding: the writer's schema and one value per field,
/// in the schema's (name) order. Field values use these CLR types: bool, sbyte, short, int,
/// long, float, double, string, <see cref="Values.HzDecimal"/>, <see cref="Values.HzLocalTime"/>,
/// <see cref="Values.HzLocalDate"/>, <see cref="Values.HzLocalDateTime"/>,
/// <see cref="Values.HzOffsetDateTime"/>, <see cref="CompactRecord"/>, nullable forms of these,
/// and arrays of them; null where the kind allows it.
/// </summary>
internal sealed class CompactRecord
{
    private readonly object?[] _values;

    public CompactRecord(Schema schema, object?[] values)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != schema.Fields.Count)
        {
            throw new ArgumentException($"schema '{schema.TypeName}' has {schema.Fields.Count} fields, got {values.Length} values", nameof(values));
        }

        Schema = schema;
        _values = values;
    }

    public Schema Schema { get; }

    public string TypeName => Schema.TypeName;

    public int FieldCount => _values.Length;

    public object? this[int ordinal] => _values[ordinal];

    public object? this[string fieldName] =>
        _values[(Schema.Find(fieldName) ?? throw new KeyNotFoundException($"'{Schema.TypeName}' has no field '{fieldName}'")).Ordinal];

    public override string ToString() => $"{TypeName}{{{string.Join(", ", Schema.Fields.Select(f => $"{f.Name}={_values[f.Ordinal]}"))}}}";
}

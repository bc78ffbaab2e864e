using System.Collections.Concurrent;

namespace Jex.Hazelcast.Compact;

/// <summary>Where a reader finds the writer's schema for an id.</summary>
internal interface ISchemaLookup
{
    bool TryGet(long schemaId, out Schema schema);
}

/// <summary>
/// Schemas by id (and the latest by type name, for writers). Thread-safe. Registering a schema
/// whose id is already taken by different fields is refused: a fingerprint collision or a
/// forged id must not silently change how bytes are read.
/// </summary>
internal sealed class SchemaRegistry : ISchemaLookup
{
    private readonly ConcurrentDictionary<long, Schema> _byId = new();
    private readonly ConcurrentDictionary<string, Schema> _byTypeName = new(StringComparer.Ordinal);
    private readonly ISchemaLookup? _parent;

    public SchemaRegistry(ISchemaLookup? parent = null)
    {
        _parent = parent;
    }

    public int Count => _byId.Count;

    public IEnumerable<Schema> Schemas => _byId.Values;

    /// <summary>Adds the schema; returns false when it was already known.</summary>
    public bool Register(Schema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var existing = _byId.GetOrAdd(schema.Id, schema);
        _byTypeName[schema.TypeName] = schema;
        if (ReferenceEquals(existing, schema))
        {
            return true;
        }

        if (!existing.Equals(schema))
        {
            throw new HazelcastCodecException($"schema id {schema.Id} is already registered for {existing}; refusing {schema}");
        }

        return false;
    }

    public bool TryGet(long schemaId, out Schema schema)
    {
        if (_byId.TryGetValue(schemaId, out schema!))
        {
            return true;
        }

        return _parent is not null && _parent.TryGet(schemaId, out schema);
    }

    public Schema Get(long schemaId) =>
        TryGet(schemaId, out var schema) ? schema : throw new UnknownSchemaException(schemaId);

    public bool TryGetByTypeName(string typeName, out Schema schema) => _byTypeName.TryGetValue(typeName, out schema!);
}

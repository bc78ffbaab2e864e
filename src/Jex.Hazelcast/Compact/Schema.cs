namespace Jex.Hazelcast.Compact;

/// <summary>
/// A Compact schema: a type name and its fields, laid out as Hazelcast lays them out. Fields are
/// sorted by name (ordinal UTF-16 order, as Java's <c>String.compareTo</c>); fixed-size fields
/// come first, largest first, then booleans packed eight to a byte; variable-size fields get
/// offset-table indexes in name order. Immutable and safe to share.
/// </summary>
internal sealed class Schema : IEquatable<Schema>
{
    private readonly Dictionary<string, FieldDescriptor> _byName;
    private readonly Dictionary<string, FieldDescriptor> _byNameIgnoreCase;

    public Schema(string typeName, IEnumerable<FieldDescriptor> fields)
    {
        ArgumentNullException.ThrowIfNull(typeName);
        ArgumentNullException.ThrowIfNull(fields);
        TypeName = typeName;
        var sorted = fields.Select(f => new FieldDescriptor(f.Name, f.Kind)).ToList();
        sorted.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        _byName = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
        foreach (var f in sorted)
        {
            if (!_byName.TryAdd(f.Name, f))
            {
                throw new ArgumentException($"schema '{typeName}' has the field '{f.Name}' twice", nameof(fields));
            }
        }

        _byNameIgnoreCase = new Dictionary<string, FieldDescriptor>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in sorted)
        {
            _byNameIgnoreCase.TryAdd(f.Name, f);
        }

        for (int i = 0; i < sorted.Count; i++)
        {
            sorted[i].Ordinal = i;
        }

        // Stable sort by size, descending, keeps name order among fields of one size.
        var fixedFields = sorted.Where(f => FieldKinds.FixedSize(f.Kind) > 0)
            .OrderByDescending(f => FieldKinds.FixedSize(f.Kind)).ToList();
        int offset = 0;
        foreach (var f in fixedFields)
        {
            f.Offset = offset;
            offset += FieldKinds.FixedSize(f.Kind);
        }

        int bit = 0;
        foreach (var f in sorted.Where(f => f.Kind == FieldKind.BOOLEAN))
        {
            f.Offset = offset;
            f.BitOffset = bit % 8;
            bit++;
            if (bit % 8 == 0)
            {
                offset++;
            }
        }

        if (bit % 8 != 0)
        {
            offset++;
        }

        FixedSizeLength = offset;
        int index = 0;
        foreach (var f in sorted.Where(f => f.IsVariableSize))
        {
            f.Index = index++;
        }

        VariableSizeCount = index;
        Fields = sorted;
        Id = RabinFingerprint.OfSchema(typeName, sorted);
    }

    public string TypeName { get; }

    /// <summary>The fields, sorted by name.</summary>
    public IReadOnlyList<FieldDescriptor> Fields { get; }

    /// <summary>The schema id: Hazelcast's Rabin-64 fingerprint.</summary>
    public long Id { get; }

    public int FixedSizeLength { get; }

    public int VariableSizeCount { get; }

    public FieldDescriptor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Finds a field by name ignoring case, for binding C# properties (<c>Value</c>) to Java-style fields (<c>value</c>).</summary>
    public FieldDescriptor? FindIgnoreCase(string name) =>
        _byName.GetValueOrDefault(name) ?? _byNameIgnoreCase.GetValueOrDefault(name);

    public bool Equals(Schema? other) =>
        other is not null && (ReferenceEquals(this, other) || (Id == other.Id && TypeName == other.TypeName
            && Fields.Count == other.Fields.Count
            && Fields.Zip(other.Fields).All(p => p.First.Name == p.Second.Name && p.First.Kind == p.Second.Kind)));

    public override bool Equals(object? obj) => Equals(obj as Schema);

    public override int GetHashCode() => Id.GetHashCode();

    public override string ToString() => $"{TypeName} (schema id {Id}) {{{string.Join(", ", Fields)}}}";
}

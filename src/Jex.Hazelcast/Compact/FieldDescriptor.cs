namespace Jex.Hazelcast.Compact;

/// <summary>A field of a <see cref="Schema"/> and where it lives in an object's bytes.</summary>
internal sealed class FieldDescriptor
{
    public FieldDescriptor(string name, FieldKind kind)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FieldKinds.IsDefined(kind))
        {
            throw new ArgumentException($"field '{name}' has an unknown kind {(int)kind}", nameof(kind));
        }

        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public FieldKind Kind { get; }

    /// <summary>Position of the field in <see cref="Schema.Fields"/> (sorted by name).</summary>
    public int Ordinal { get; internal set; }

    /// <summary>Fixed-size fields and booleans: byte offset from the start of the data section.</summary>
    public int Offset { get; internal set; } = -1;

    /// <summary>Booleans: the bit within the byte at <see cref="Offset"/>.</summary>
    public int BitOffset { get; internal set; } = -1;

    /// <summary>Variable-size fields: the index in the offset table.</summary>
    public int Index { get; internal set; } = -1;

    public bool IsVariableSize => FieldKinds.FixedSize(Kind) < 0;

    public override string ToString() => $"{Name}:{Kind}";
}

using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>Reads and writes the fields of one Compact-mapped CLR type (the object body, without its schema id).</summary>
internal abstract class CompactTypeCodec<T>
{
    public abstract string TypeName { get; }

    /// <summary>The schema <paramref name="value"/> is written with.</summary>
    public abstract Schema SchemaFor(T value);

    /// <summary>Writes the fields of <paramref name="value"/> into a writer begun with <see cref="SchemaFor"/>.</summary>
    public abstract void WriteBody(CompactWriter writer, T value);

    /// <summary>Reads an object whose schema the reader has resolved; its type name must be this type's.</summary>
    public T ReadObject(CompactReader reader)
    {
        if (!string.Equals(reader.Schema.TypeName, TypeName, StringComparison.Ordinal))
        {
            throw new HazelcastCodecException(
                $"Compact '{reader.Schema.TypeName}' (schema id {reader.Schema.Id}) cannot be read as {typeof(T).Name}, which is mapped to '{TypeName}'");
        }

        return ReadBody(reader);
    }

    protected abstract T ReadBody(CompactReader reader);
}

/// <summary>
/// A <c>[CompactType]</c> class bound property by property. The write schema is derived from the
/// properties once; reading resolves each property to the writer's field (case-insensitively) once
/// per writer schema, so the per-object work is one typed delegate call per property.
/// </summary>
internal sealed class PocoCompactCodec<T> : CompactTypeCodec<T>
    where T : class
{
    private readonly ConcurrentDictionary<long, FieldDescriptor[]> _plans = new();
    private readonly Func<T> _create;
    private PropertyBinding<T>[] _properties = [];
    private FieldDescriptor[] _writeFields = [];
    private Schema _schema = null!;
    private volatile ReadPlan? _last;

    public PocoCompactCodec(string typeName)
    {
        TypeName = typeName;
        var constructor = typeof(T).GetConstructor(Type.EmptyTypes)
            ?? throw new NotSupportedException(
                $"[CompactType(\"{typeName}\")] {typeof(T).Name} needs a public parameterless constructor (or implement ICompactSerializer<{typeof(T).Name}>)");
        _create = Expression.Lambda<Func<T>>(Expression.New(constructor)).Compile();
    }

    public override string TypeName { get; }

    /// <summary>Second construction step, so a type can have properties of its own type.</summary>
    public void Initialize(HazelcastBinding binding)
    {
        var properties = new List<PropertyBinding<T>>();
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is not { IsPublic: true } || property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var converter = binding.ConverterFor(property.PropertyType)
                ?? throw new NotSupportedException(
                    $"[CompactType(\"{TypeName}\")] {typeof(T).Name}.{property.Name}: a {property.PropertyType.Name} has no Compact field kind; implement ICompactSerializer<{typeof(T).Name}> to map it");
            var bindingType = typeof(PropertyBinding<,>).MakeGenericType(typeof(T), property.PropertyType);
            properties.Add((PropertyBinding<T>)Activator.CreateInstance(bindingType, property, converter)!);
        }

        if (properties.Count == 0)
        {
            throw new NotSupportedException($"[CompactType(\"{TypeName}\")] {typeof(T).Name} has no public read-write properties to bind");
        }

        Schema schema;
        try
        {
            schema = new Schema(TypeName, properties.Select(p => new FieldDescriptor(p.FieldName, p.Kind)));
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"[CompactType(\"{TypeName}\")] {typeof(T).Name}: {e.Message}", e);
        }

        // Variable-size data is laid out in write order: schema (name) order, as the Hazelcast
        // clients write generic records, so equal values give equal bytes.
        _properties = [.. properties.OrderBy(p => schema.Find(p.FieldName)!.Ordinal)];
        _writeFields = [.. _properties.Select(p => schema.Find(p.FieldName)!)];
        _schema = schema;
    }

    /// <summary>The schema derived from the properties.</summary>
    public Schema Schema => _schema;

    public override Schema SchemaFor(T value) => _schema;

    public override void WriteBody(CompactWriter writer, T value)
    {
        var properties = _properties;
        var fields = _writeFields;
        for (int i = 0; i < properties.Length; i++)
        {
            properties[i].Write(writer, fields[i], value);
        }
    }

    protected override T ReadBody(CompactReader reader)
    {
        var fields = PlanFor(reader.Schema);
        var value = _create();
        var properties = _properties;
        for (int i = 0; i < properties.Length; i++)
        {
            properties[i].Read(reader, fields[i], value);
        }

        return value;
    }

    private FieldDescriptor[] PlanFor(Schema schema)
    {
        // The same writer schema almost always comes again: one comparison, no lookup.
        if (_last is { } last && last.SchemaId == schema.Id)
        {
            return last.Fields;
        }

        var fields = _plans.TryGetValue(schema.Id, out var cached) ? cached : BuildPlan(schema);
        _last = new ReadPlan(schema.Id, fields);
        return fields;
    }

    private FieldDescriptor[] BuildPlan(Schema schema)
    {
        var fields = new FieldDescriptor[_properties.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            var p = _properties[i];
            var field = schema.FindIgnoreCase(p.FieldName)
                ?? throw new HazelcastCodecException(
                    $"field '{p.FieldName}' ({typeof(T).Name}.{p.PropertyName}) is not in the writer's schema of '{schema.TypeName}' (schema id {schema.Id})");
            if (!p.CanRead(field.Kind))
            {
                throw new HazelcastCodecException(
                    $"field '{field.Name}' of '{schema.TypeName}' is {field.Kind}; {typeof(T).Name}.{p.PropertyName} ({p.PropertyTypeName}) cannot be read from it");
            }

            fields[i] = field;
        }

        // A plan is cached only once it is complete: a schema missing a field fails every time.
        _plans.TryAdd(schema.Id, fields);
        return fields;
    }

    private sealed record ReadPlan(long SchemaId, FieldDescriptor[] Fields);
}

/// <summary>One property of a Compact-mapped class.</summary>
internal abstract class PropertyBinding<TOwner>
{
    public abstract string PropertyName { get; }

    public abstract string PropertyTypeName { get; }

    /// <summary>The field name written: the property name with its first letter lower-cased (<c>Value</c> → <c>value</c>).</summary>
    public abstract string FieldName { get; }

    public abstract FieldKind Kind { get; }

    public abstract bool CanRead(FieldKind kind);

    public abstract void Read(CompactReader reader, FieldDescriptor field, TOwner owner);

    public abstract void Write(CompactWriter writer, FieldDescriptor field, TOwner owner);
}

internal sealed class PropertyBinding<TOwner, TProperty> : PropertyBinding<TOwner>
{
    private readonly FieldConverter<TProperty> _converter;
    private readonly Func<TOwner, TProperty> _get;
    private readonly Action<TOwner, TProperty> _set;
    private readonly bool _rejectsNull;

    public PropertyBinding(PropertyInfo property, object converter)
    {
        _converter = (FieldConverter<TProperty>)converter;
        // A reference property declared without '?' (string, Address) in a nullable-enabled
        // assembly fails the item on a null field, as the attribute documents; value types
        // already refuse null in their converters.
        _rejectsNull = !typeof(TProperty).IsValueType && new NullabilityInfoContext().Create(property).WriteState == NullabilityState.NotNull;
        PropertyName = property.Name;
        PropertyTypeName = property.PropertyType.Name;
        FieldName = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
        var owner = Expression.Parameter(typeof(TOwner), "owner");
        var value = Expression.Parameter(typeof(TProperty), "value");
        _get = Expression.Lambda<Func<TOwner, TProperty>>(Expression.Property(owner, property), owner).Compile();
        // Also init-only setters: the binder constructs the object, as a deserializer may.
        _set = Expression.Lambda<Action<TOwner, TProperty>>(Expression.Call(owner, property.SetMethod!, value), owner, value).Compile();
    }

    public override string PropertyName { get; }

    public override string PropertyTypeName { get; }

    public override string FieldName { get; }

    public override FieldKind Kind => _converter.Kind;

    public override bool CanRead(FieldKind kind) => _converter.CanRead(kind);

    public override void Read(CompactReader reader, FieldDescriptor field, TOwner owner)
    {
        var value = _converter.Read(reader, field);
        if (value is null && _rejectsNull)
        {
            throw new HazelcastCodecException(
                $"field '{field.Name}' of '{reader.Schema.TypeName}' is null, but {typeof(TOwner).Name}.{PropertyName} is not nullable; declare it {PropertyTypeName}?");
        }

        _set(owner, value);
    }

    public override void Write(CompactWriter writer, FieldDescriptor field, TOwner owner) => _converter.Write(writer, field, _get(owner));
}

namespace Jex.UserCode.Compact;

/// <summary>
/// Maps a class to a Hazelcast Compact type, so functions can take and return it when the
/// item's format is Hazelcast. Public read-write properties (with a public <c>set</c> or
/// <c>init</c>) bind to fields of the same name, compared case-insensitively (C# <c>Value</c>
/// binds to the Java-style field <c>value</c>). The class needs a public parameterless
/// constructor. The same class still binds from JSON when the item's format is JSON (or the
/// Hazelcast value is a <c>HazelcastJsonValue</c>).
/// </summary>
/// <remarks>
/// <para>Reading uses the writer's schema: a property whose field is missing from it fails the
/// item with an error naming the field. A nullable property (<c>int?</c>, <c>string?</c>)
/// accepts a null field; a non-nullable one fails the item on null.</para>
/// <para>Writing derives the schema from the properties: <c>bool</c>, <c>sbyte</c>,
/// <c>short</c>, <c>int</c>, <c>long</c>, <c>float</c>, <c>double</c> become the fixed-size kinds;
/// their nullable forms the NULLABLE_ kinds; <c>string</c> STRING; <c>decimal</c> DECIMAL;
/// <c>DateOnly</c>, <c>TimeOnly</c>, <c>DateTime</c>, <c>DateTimeOffset</c> DATE, TIME, TIMESTAMP
/// and TIMESTAMP_WITH_TIMEZONE; another <c>[CompactType]</c> class COMPACT; arrays of these the
/// ARRAY_OF_ kinds (and <c>byte[]</c> ARRAY_OF_INT8, as Java's <c>byte[]</c>). Field names are the
/// property names with the first letter lower-cased. A property type with no kind fails the
/// function's load with an error naming the property.
/// For anything else, or to control names and kinds, implement <see cref="ICompactSerializer{T}"/>.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class CompactTypeAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="typeName">The Compact type name, as Java code names it (for example <c>some-thing</c>).</param>
    public CompactTypeAttribute(string typeName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        TypeName = typeName;
    }

    /// <summary>The Compact type name; part of the schema id, compared case-sensitively.</summary>
    public string TypeName { get; }
}

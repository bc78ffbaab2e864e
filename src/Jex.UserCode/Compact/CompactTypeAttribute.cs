namespace Jex.UserCode.Compact;

/// <summary>
/// Maps a class to a Hazelcast Compact type, so functions can take and return it when the
/// item's format is Hazelcast. Public properties bind to fields of the same name, compared
/// case-insensitively (C# <c>Value</c> binds to the Java-style field <c>value</c>).
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
/// ARRAY_OF_ kinds. Field names are the property names with the first letter lower-cased.
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

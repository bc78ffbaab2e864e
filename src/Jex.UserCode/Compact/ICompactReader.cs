namespace Jex.UserCode.Compact;

/// <summary>
/// Reads the fields of one Compact object by name, with the writer's schema. Every method
/// throws when the field is missing from that schema or has another kind; the item then fails
/// with an error naming the field.
/// </summary>
public interface ICompactReader
{
    /// <summary>The Compact type name of the object being read.</summary>
    string TypeName { get; }

    /// <summary>Whether the writer's schema has the field (exact, case-sensitive name).</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns><see langword="true"/> when the field exists.</returns>
    bool HasField(string fieldName);

    /// <summary>Reads a BOOLEAN (or a non-null NULLABLE_BOOLEAN) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    bool ReadBoolean(string fieldName);

    /// <summary>Reads an INT8 (or a non-null NULLABLE_INT8) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    sbyte ReadInt8(string fieldName);

    /// <summary>Reads an INT16 (or a non-null NULLABLE_INT16) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    short ReadInt16(string fieldName);

    /// <summary>Reads an INT32 (or a non-null NULLABLE_INT32) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    int ReadInt32(string fieldName);

    /// <summary>Reads an INT64 (or a non-null NULLABLE_INT64) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    long ReadInt64(string fieldName);

    /// <summary>Reads a FLOAT32 (or a non-null NULLABLE_FLOAT32) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    float ReadFloat32(string fieldName);

    /// <summary>Reads a FLOAT64 (or a non-null NULLABLE_FLOAT64) field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value.</returns>
    double ReadFloat64(string fieldName);

    /// <summary>Reads a STRING field; null when the writer wrote null.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    string? ReadString(string fieldName);

    /// <summary>
    /// Reads any other kind as <typeparamref name="T"/>, converted as <see cref="CompactTypeAttribute"/>
    /// describes (nullable kinds to nullable types, arrays to arrays, COMPACT to a mapped class,
    /// DECIMAL to <see cref="decimal"/>, DATE to <see cref="DateOnly"/>, ...).
    /// </summary>
    /// <typeparam name="T">The CLR type to read as.</typeparam>
    /// <param name="fieldName">The field name.</param>
    /// <returns>The value, or <see langword="default"/> when the writer wrote null.</returns>
    T? Read<T>(string fieldName);
}

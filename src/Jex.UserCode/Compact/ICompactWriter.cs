namespace Jex.UserCode.Compact;

/// <summary>
/// Writes the fields of one Compact object by name. The first value written for a type defines
/// its schema; every write for that type must use the same names and kinds.
/// </summary>
public interface ICompactWriter
{
    /// <summary>Writes a BOOLEAN field (packed into a bit).</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteBoolean(string fieldName, bool value);

    /// <summary>Writes an INT8 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteInt8(string fieldName, sbyte value);

    /// <summary>Writes an INT16 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteInt16(string fieldName, short value);

    /// <summary>Writes an INT32 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteInt32(string fieldName, int value);

    /// <summary>Writes an INT64 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteInt64(string fieldName, long value);

    /// <summary>Writes a FLOAT32 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteFloat32(string fieldName, float value);

    /// <summary>Writes a FLOAT64 field.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value.</param>
    void WriteFloat64(string fieldName, double value);

    /// <summary>Writes a STRING field (UTF-8); null is allowed.</summary>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value, or <see langword="null"/>.</param>
    void WriteString(string fieldName, string? value);

    /// <summary>
    /// Writes any other kind from <typeparamref name="T"/>, whose kind follows the rules of
    /// <see cref="CompactTypeAttribute"/> (for example <c>int?</c> NULLABLE_INT32,
    /// <c>string[]</c> ARRAY_OF_STRING, a mapped class COMPACT).
    /// </summary>
    /// <typeparam name="T">The CLR type of the value.</typeparam>
    /// <param name="fieldName">The field name.</param>
    /// <param name="value">The value; null is allowed for the variable-size kinds.</param>
    void Write<T>(string fieldName, T? value);
}

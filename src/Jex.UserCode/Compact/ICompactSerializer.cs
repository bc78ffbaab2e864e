namespace Jex.UserCode.Compact;

/// <summary>
/// Full control over how a type is read from and written to Hazelcast Compact. A public,
/// non-abstract implementation with a parameterless constructor in a user assembly is found at
/// load and takes precedence over <see cref="CompactTypeAttribute"/> binding for <typeparamref name="T"/>.
/// </summary>
/// <typeparam name="T">The CLR type it maps.</typeparam>
/// <remarks>One instance serves every session and batch concurrently: keep it stateless.</remarks>
public interface ICompactSerializer<T>
{
    /// <summary>The Compact type name written with the schema (for example <c>other-thing</c>).</summary>
    string TypeName { get; }

    /// <summary>Reads a value. The reader follows the writer's schema; asking for a field it does not have throws.</summary>
    /// <param name="reader">Reads fields by name; valid only during the call.</param>
    /// <returns>The value.</returns>
    T Read(ICompactReader reader);

    /// <summary>
    /// Writes a value. Call the same writer methods with the same field names for every value: the
    /// first call defines the schema (names and kinds), and later calls must match it.
    /// </summary>
    /// <param name="writer">Writes fields by name; valid only during the call.</param>
    /// <param name="value">The value to write; never null.</param>
    void Write(ICompactWriter writer, T value);
}

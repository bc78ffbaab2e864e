namespace Jex.UserCode;

/// <summary>
/// Marks a public method as a Jex function, callable from a pipeline stage by <see cref="Name"/>
/// (the job's <c>function:</c>).
/// </summary>
/// <remarks>
/// <para>The method may be static, or an instance method of a public class. Instances are created
/// once per runtime from the services an <see cref="IJexStartup"/> registers (constructor
/// injection), and shared by every session and batch, so they must be thread-safe.</para>
/// <para>Accepted shapes, with <c>T</c> one of <see cref="string"/>, <c>byte[]</c>,
/// <see cref="ReadOnlyMemory{T}"/> of byte, a POCO bound from JSON (or from Hazelcast Compact), or
/// <see cref="MapEntry{TKey, TValue}"/> of those:</para>
/// <list type="bullet">
/// <item><description>Parameters: <c>(T input)</c>, optionally followed by <see cref="IJexContext"/>
/// and/or <see cref="CancellationToken"/>.</description></item>
/// <item><description>Return: <c>TOut</c>, <c>Task&lt;TOut&gt;</c> or <c>ValueTask&lt;TOut&gt;</c>
/// (map; <see langword="null"/> filters the item out); <c>IEnumerable&lt;TOut&gt;</c>,
/// <c>IAsyncEnumerable&lt;TOut&gt;</c> or a task of an enumerable (flat-map); <see langword="void"/>,
/// <see cref="Task"/> or <see cref="ValueTask"/> (no output).</description></item>
/// </list>
/// <para>When the function returns a value rather than a <see cref="MapEntry{TKey, TValue}"/>, the
/// output's key is the input item's key.</para>
/// <para>Bytes: <see cref="ReadOnlyMemory{T}"/> of byte always receives the payload exactly as it is on
/// the wire (for Hazelcast items, the whole <c>Data</c> envelope) and returns it in the item's format.
/// <c>byte[]</c> does the same for raw, text and JSON items, but for Hazelcast items it binds to
/// Hazelcast's byte-array type.</para>
/// <para>A <see cref="ReadOnlyMemory{T}"/> argument (and <see cref="IJexContext.RawKey"/>) points into
/// the runtime's pooled receive buffer, without a copy: it is valid until the function's call (or
/// its returned task or sequence) completes. A function that keeps the bytes longer copies them
/// (<c>ToArray()</c>). Returning the argument itself, or a slice of it, is fine.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class JexFunctionAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="name">The function name jobs use. Must be unique across the loaded assemblies.</param>
    public JexFunctionAttribute(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The function name jobs use, compared case-sensitively.</summary>
    public string Name { get; }
}

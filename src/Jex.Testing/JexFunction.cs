using System.Reflection;
using Jex.Testing.Internal;

namespace Jex.Testing;

/// <summary>
/// A <c>[JexFunction]</c> loaded and bound by jex-runtime's own code, to call in process. Loading
/// runs the same checks as the runtime (a signature it refuses fails here, with its message) and
/// the assembly's <c>IJexStartup</c> hooks, once per assembly for the test run.
/// </summary>
/// <example>
/// <code>
/// var enrich = JexFunction.Load&lt;Functions&gt;("enrichOrder");
/// var result = await enrich.InvokeAsync(JexInput.Json("""{"id":"o-1","quantity":2}"""));
/// Assert.Equal("""{"id":"o-1","bulk":false}""", Assert.Single(result.Texts));
/// </code>
/// </example>
public sealed class JexFunction
{
    private readonly RuntimeAdapter.LoadedFunction _function;

    private JexFunction(RuntimeAdapter.LoadedFunction function) => _function = function;

    /// <summary>The function's name, as in <c>[JexFunction("name")]</c>.</summary>
    public string Name => _function.Name;

    /// <summary>The method, as <c>Namespace.Type.Method</c>.</summary>
    public string Method => _function.Method;

    /// <summary>The assembly file the function was loaded from.</summary>
    public string AssemblyPath => _function.AssemblyPath;

    /// <summary>How the runtime describes the input at load, in every format it binds in (for example <c>json:Order or compact:order</c>, <c>string</c>, <c>entry&lt;string,string&gt;</c>).</summary>
    public string InputDescription => _function.Input;

    /// <summary>How the runtime describes the output.</summary>
    public string OutputDescription => _function.Output;

    /// <summary>
    /// The function named <paramref name="name"/> in the assembly that declares
    /// <typeparamref name="T"/> (any type of the function library), as the test already loaded it.
    /// </summary>
    /// <exception cref="ArgumentException">The assembly has no function of that name; the message lists those it has.</exception>
    /// <exception cref="InvalidOperationException">The runtime refuses the assembly (a bad signature, a failing startup hook); the message is the runtime's.</exception>
    public static JexFunction Load<T>(string name) => Load(typeof(T).Assembly, name);

    /// <summary>The function named <paramref name="name"/> in <paramref name="assembly"/>, as it is loaded now.</summary>
    /// <exception cref="ArgumentException">The assembly has no function of that name.</exception>
    /// <exception cref="InvalidOperationException">The runtime refuses the assembly.</exception>
    public static JexFunction Load(Assembly assembly, string name)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return new JexFunction(RuntimeAdapter.Load(assembly, name));
    }

    /// <summary>
    /// The function named <paramref name="name"/>, loaded from a built library exactly as the runtime
    /// loads <c>UserCode:Path</c>: <paramref name="assemblyPath"/> is a .dll or a folder searched two
    /// levels deep for assemblies that reference Jex.UserCode, each loaded in an isolated context
    /// with its own dependencies (from its .deps.json).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="assemblyPath"/>.</exception>
    /// <exception cref="ArgumentException">No function of that name was found.</exception>
    /// <exception cref="InvalidOperationException">The runtime refuses the library.</exception>
    public static JexFunction Load(string assemblyPath, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(assemblyPath);
        return new JexFunction(RuntimeAdapter.Load(assemblyPath, name));
    }

    /// <summary>
    /// Calls the function for one item, as the runtime does for an item of a batch: the input is
    /// bound by the runtime's codecs, the result encoded by them, and an exception becomes the item
    /// error the member would get. Does not throw for a failing item; check <see cref="JexResult.Error"/>.
    /// </summary>
    /// <param name="input">The item.</param>
    /// <param name="context">Settings, names, key, partition and cancellation, and where logs go; a new <see cref="TestJexContext"/> when null.</param>
    public async Task<JexResult> InvokeAsync(JexInput input, TestJexContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var results = await _function.InvokeAsync([input], context ?? new TestJexContext()).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>
    /// Calls the function for each input in order, as one batch: one context moves from item to item,
    /// a failed item does not stop the next, and item <c>i</c> has sequence <c>context.Sequence + i</c>.
    /// Compact schemas announced by any input are known to every item, as in a session.
    /// </summary>
    /// <returns>One result per input, in order.</returns>
    public Task<IReadOnlyList<JexResult>> InvokeManyAsync(IEnumerable<JexInput> inputs, TestJexContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return _function.InvokeAsync([.. inputs], context ?? new TestJexContext());
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Method}: {InputDescription} -> {OutputDescription})";
}

using System.Reflection;
using System.Runtime.Loader;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Loads one user assembly and its private dependencies (from its .deps.json) in isolation.
/// Assemblies the runtime itself carries (Jex.UserCode, logging and DI abstractions, the shared
/// frameworks) come from the default context, so the types user code and the runtime exchange are
/// the same types.
/// </summary>
internal sealed class UserCodeLoadContext : AssemblyLoadContext
{
    private readonly AssemblyDependencyResolver _resolver;
    private readonly IReadOnlySet<string> _shared;

    public UserCodeLoadContext(string mainAssemblyPath, IReadOnlySet<string> sharedAssemblyNames)
        : base(name: $"jex-user:{Path.GetFileNameWithoutExtension(mainAssemblyPath)}", isCollectible: true)
    {
        _resolver = new AssemblyDependencyResolver(mainAssemblyPath);
        _shared = sharedAssemblyNames;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is { } name && _shared.Contains(name))
        {
            return null;
        }

        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }

    /// <summary>The simple names of every assembly the runtime's default context can load.</summary>
    public static IReadOnlySet<string> DefaultContextAssemblyNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
        {
            foreach (var file in tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                names.Add(Path.GetFileNameWithoutExtension(file));
            }
        }

        names.Add(typeof(Jex.UserCode.JexFunctionAttribute).Assembly.GetName().Name!);
        return names;
    }
}

using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Loads one user assembly and its private dependencies (from its .deps.json) in isolation.
/// Only the assemblies whose types cross between user code and the runtime come from the default
/// context (<see cref="SharedAssemblyNames"/>): the base framework, Jex.UserCode and the logging
/// and DI abstractions it exposes. Anything else the user library ships (Google.Protobuf,
/// Newtonsoft.Json, a Microsoft.Extensions package) is its own copy, even when the runtime carries
/// another version of it; what it does not ship falls back to the default context.
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

    /// <summary>
    /// The simple names of the assemblies user code shares with the runtime: every assembly of the
    /// base framework (Microsoft.NETCore.App: System.*, mscorlib, netstandard, ...), Jex.UserCode,
    /// and the two abstractions its public types expose, Microsoft.Extensions.Logging.Abstractions
    /// (<c>IJexContext.Logger</c>) and Microsoft.Extensions.DependencyInjection.Abstractions
    /// (<c>IJexStartup.ConfigureServices</c>). The rest of the runtime's own assemblies (gRPC,
    /// Google.Protobuf, Serilog, ASP.NET Core, Microsoft.Extensions.Hosting, Jex.*) are not shared,
    /// so a user library's copy of one of them wins over the runtime's.
    /// </summary>
    public static IReadOnlySet<string> SharedAssemblyNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            typeof(Jex.UserCode.JexFunctionAttribute).Assembly.GetName().Name!,
            typeof(Microsoft.Extensions.Logging.ILogger).Assembly.GetName().Name!,
            typeof(Microsoft.Extensions.DependencyInjection.IServiceCollection).Assembly.GetName().Name!,
        };

        // The trusted platform list names the base framework's files, the ASP.NET Core
        // framework's and the application's; only the first set lives in the runtime directory.
        var frameworkDirectory = Path.TrimEndingDirectorySeparator(RuntimeEnvironment.GetRuntimeDirectory());
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
        {
            foreach (var file in tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                if (string.Equals(Path.GetDirectoryName(file), frameworkDirectory, StringComparison.Ordinal))
                {
                    names.Add(Path.GetFileNameWithoutExtension(file));
                }
            }
        }

        return names;
    }
}

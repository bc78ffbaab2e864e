using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Jex.UserCode;
using Microsoft.Extensions.DependencyInjection;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Finds user assemblies under <c>UserCode:Path</c>, loads each in its own
/// <see cref="UserCodeLoadContext"/>, runs their <see cref="IJexStartup"/> hooks and collects
/// their <see cref="JexFunctionAttribute"/> methods. A method is checked, its binders built and its
/// signature described here; its call is compiled on first use (<see cref="FunctionDescriptor.Invoker"/>).
/// </summary>
internal static class UserCodeLoader
{
    private static readonly string ContractName = typeof(JexFunctionAttribute).Assembly.GetName().Name!;

    public static FunctionCatalog Load(string path, ILoggerFactory loggerFactory, PayloadCodecs codecs)
    {
        var roots = FindUserAssemblies(path);
        if (roots.Count == 0)
        {
            throw new UserCodeLoadException($"UserCode:Path '{path}': no assembly referencing {ContractName} was found");
        }

        var shared = UserCodeLoadContext.SharedAssemblyNames();
        var functions = new Dictionary<string, FunctionDescriptor>(StringComparer.Ordinal);
        var contexts = new List<UserCodeLoadContext>(roots.Count);
        foreach (var file in roots)
        {
            Assembly assembly;
            try
            {
                var context = new UserCodeLoadContext(file, shared);
                contexts.Add(context);
                assembly = context.LoadFromAssemblyPath(file);
            }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
            {
                throw new UserCodeLoadException($"failed to load user assembly '{file}': {e.Message}", e);
            }

            codecs.AddUserAssembly(assembly);
            var services = ConfigureServices(assembly, file, loggerFactory);
            foreach (var descriptor in FindFunctions(assembly, file, services, codecs))
            {
                if (functions.TryGetValue(descriptor.Name, out var existing))
                {
                    throw new UserCodeLoadException(
                        $"function '{descriptor.Name}' is defined twice: {existing.MethodDisplayName} in '{existing.AssemblyPath}' and {descriptor.MethodDisplayName} in '{file}'");
                }

                functions.Add(descriptor.Name, descriptor);
            }
        }

        return new FunctionCatalog(functions, codecs, contexts);
    }

    /// <summary>
    /// Binds the functions of an assembly that is already loaded (the test kit's
    /// <c>JexFunction.Load&lt;T&gt;</c>, where the assembly is in the test's own context) with the same
    /// startup hooks, checks and binders as <see cref="Load"/>.
    /// </summary>
    public static FunctionCatalog LoadAssembly(Assembly assembly, ILoggerFactory loggerFactory, PayloadCodecs codecs)
    {
        var file = assembly.Location;
        codecs.AddUserAssembly(assembly);
        var services = ConfigureServices(assembly, file, loggerFactory);
        var functions = new Dictionary<string, FunctionDescriptor>(StringComparer.Ordinal);
        foreach (var descriptor in FindFunctions(assembly, file, services, codecs))
        {
            if (!functions.TryAdd(descriptor.Name, descriptor))
            {
                throw new UserCodeLoadException(
                    $"function '{descriptor.Name}' is defined twice in '{file}': {functions[descriptor.Name].MethodDisplayName} and {descriptor.MethodDisplayName}");
            }
        }

        return new FunctionCatalog(functions, codecs);
    }

    /// <summary>
    /// A .dll path is loaded as it is. In a directory, the user assemblies are the .dll files that
    /// reference Jex.UserCode, found up to two levels deep (so <c>out/samples/X/X.dll</c> works);
    /// their dependencies sit beside them and are not roots.
    /// </summary>
    internal static IReadOnlyList<string> FindUserAssemblies(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            if (!full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                throw new UserCodeLoadException($"UserCode:Path '{path}' is not a .dll file");
            }

            return [full];
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, IgnoreInaccessible = true };
        return Directory.EnumerateFiles(full, "*.dll", options)
            .Where(f => !string.Equals(Path.GetFileNameWithoutExtension(f), ContractName, StringComparison.OrdinalIgnoreCase))
            .Where(ReferencesContract)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static bool ReferencesContract(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
            {
                return false;
            }

            var md = pe.GetMetadataReader();
            foreach (var handle in md.AssemblyReferences)
            {
                if (md.StringComparer.Equals(md.GetAssemblyReference(handle).Name, ContractName))
                {
                    return true;
                }
            }

            return false;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs the assembly's <see cref="IJexStartup"/> hooks now (a failing one fails the load) and
    /// returns the service provider for instance functions' targets, built only when the first one
    /// asks: an assembly of static functions does not pay for a container (docs/performance.md, startup).
    /// </summary>
    private static Func<IServiceProvider> ConfigureServices(Assembly assembly, string file, ILoggerFactory loggerFactory)
    {
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        foreach (var type in ExportedTypes(assembly, file))
        {
            if (type is { IsClass: true, IsAbstract: false } && typeof(IJexStartup).IsAssignableFrom(type))
            {
                try
                {
                    var startup = (IJexStartup)Activator.CreateInstance(type)!;
                    startup.ConfigureServices(services);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                    throw new UserCodeLoadException($"'{file}': startup {type.FullName} failed: {inner.GetType().Name}: {inner.Message}", inner);
                }
            }
        }

        ServiceProvider? provider = null;
        return () => provider ??= services.BuildServiceProvider();
    }

    private static IEnumerable<FunctionDescriptor> FindFunctions(Assembly assembly, string file, Func<IServiceProvider> services, PayloadCodecs codecs)
    {
        foreach (var type in ExportedTypes(assembly, file))
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                var attribute = method.GetCustomAttribute<JexFunctionAttribute>();
                if (attribute is null)
                {
                    continue;
                }

                object? target = null;
                if (!method.IsStatic)
                {
                    if (type.IsAbstract)
                    {
                        throw new UserCodeLoadException($"'{file}': function '{attribute.Name}' ({type.FullName}.{method.Name}) is an instance method of an abstract type");
                    }

                    try
                    {
                        target = ActivatorUtilities.GetServiceOrCreateInstance(services(), type);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                        throw new UserCodeLoadException($"'{file}': cannot create {type.FullName} for function '{attribute.Name}': {inner.Message}", inner);
                    }
                }

                FunctionPlan plan;
                try
                {
                    plan = FunctionInvokerFactory.Plan(method, target, codecs);
                }
                catch (NotSupportedException e)
                {
                    throw new UserCodeLoadException($"'{file}': function '{attribute.Name}' ({type.FullName}.{method.Name}): {e.Message}", e);
                }

                yield return new FunctionDescriptor(attribute.Name, $"{type.FullName}.{method.Name}", file, plan);
            }
        }
    }

    private static Type[] ExportedTypes(Assembly assembly, string file)
    {
        try
        {
            return assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException)
        {
            var detail = e is ReflectionTypeLoadException rtle && rtle.LoaderExceptions.FirstOrDefault(x => x is not null) is { } first
                ? first.Message
                : e.Message;
            throw new UserCodeLoadException($"failed to load user assembly '{file}': {detail}", e);
        }
    }
}

/// <summary>Every function the runtime loaded, by name.</summary>
internal sealed class FunctionCatalog
{
    private readonly Dictionary<string, FunctionDescriptor> _functions;

    // A collectible context whose object nobody references is unloaded by its finalizer, even while
    // its assemblies run; a dependency a function loads at its first call would then fail to load.
    // The catalog holds its contexts for as long as its functions can be called.
    private readonly IReadOnlyList<UserCodeLoadContext> _contexts;

    public FunctionCatalog(Dictionary<string, FunctionDescriptor> functions, PayloadCodecs codecs, IReadOnlyList<UserCodeLoadContext>? contexts = null)
    {
        _functions = functions;
        Codecs = codecs;
        _contexts = contexts ?? [];
    }

    /// <summary>The load contexts of the user libraries (none when the assembly was already loaded).</summary>
    public IReadOnlyList<UserCodeLoadContext> Contexts => _contexts;

    public PayloadCodecs Codecs { get; }

    public IEnumerable<FunctionDescriptor> All => _functions.Values;

    public IReadOnlyList<string> Names => [.. _functions.Keys.Order(StringComparer.Ordinal)];

    public bool TryGet(string name, out FunctionDescriptor descriptor) => _functions.TryGetValue(name, out descriptor!);
}

using System.Reflection;
using System.Runtime.Loader;
using Google.Protobuf;
using Jex.UserCode;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;

namespace Jex.Samples.Isolated;

/// <summary>
/// A user library that brings its own versions of two packages, one of which (Google.Protobuf)
/// the runtime also ships: it reports which copy of each assembly it was bound to.
/// </summary>
public static class IsolationFunctions
{
    /// <summary>
    /// Ignores the value and returns one line per assembly, <c>name version load-context</c>:
    /// Google.Protobuf and Newtonsoft.Json (expected: this library's own copies, in its own load
    /// context) and the logging abstractions and Jex.UserCode (expected: the runtime's, in the
    /// default context). Also logs one line through the context, to show the shared logger works.
    /// </summary>
    [JexFunction("isolationReport")]
    public static string Report(string value, IJexContext context)
    {
        context.Logger.LogInformation("isolation report for {Value}", value);
        return string.Join('\n',
            Describe(typeof(MessageParser).Assembly),
            Describe(typeof(JsonConvert).Assembly),
            Describe(typeof(ILogger).Assembly),
            Describe(typeof(IJexContext).Assembly));
    }

    private static string Describe(Assembly assembly)
    {
        var name = assembly.GetName();
        var context = AssemblyLoadContext.GetLoadContext(assembly)?.Name ?? "?";
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        // The informational version may carry "+commit"; the package version is what a reader compares.
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return $"{name.Name} {(plus < 0 ? informational : informational[..plus])} {context}";
    }
}

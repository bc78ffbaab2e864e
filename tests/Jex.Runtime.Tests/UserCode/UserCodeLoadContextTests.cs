using System.Reflection;
using System.Runtime.Loader;
using Google.Protobuf;
using Jex.Runtime.UserCode;
using Jex.UserCode;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jex.Runtime.Tests.UserCode;

public sealed class UserCodeLoadContextTests
{
    // This test assembly stands in for a user library: its .deps.json and output folder carry its
    // own Google.Protobuf, Grpc, Serilog and Jex.Runtime, which the test host's default context also has.
    private static readonly string UserAssembly = typeof(UserCodeLoadContextTests).Assembly.Location;

    [Fact]
    public void SharedAssemblyNames_AreTheBaseFrameworkJexUserCodeAndTheLoggingAndDiAbstractions()
    {
        var shared = UserCodeLoadContext.SharedAssemblyNames();

        Assert.Contains("System.Private.CoreLib", shared);
        Assert.Contains("System.Runtime", shared);
        Assert.Contains("System.Text.Json", shared);
        Assert.Contains("netstandard", shared);
        Assert.Contains("Jex.UserCode", shared);
        Assert.Contains("Microsoft.Extensions.Logging.Abstractions", shared);
        Assert.Contains("Microsoft.Extensions.DependencyInjection.Abstractions", shared);
        // The runtime's own dependencies, present in this process's default context, are not shared.
        Assert.DoesNotContain("Google.Protobuf", shared);
        Assert.DoesNotContain("Grpc.Core.Api", shared);
        Assert.DoesNotContain("Serilog", shared);
        Assert.DoesNotContain("Microsoft.Extensions.Hosting", shared);
        Assert.DoesNotContain("Microsoft.Extensions.DependencyInjection", shared);
        Assert.DoesNotContain("Microsoft.Extensions.Logging", shared);
        Assert.DoesNotContain("jex-runtime", shared);
        Assert.DoesNotContain("Jex.Protocol", shared);
    }

    [Fact]
    public void Load_PackageTheRuntimeAlsoHas_ResolvesTheUserLibrarysCopyInItsOwnContext()
    {
        var context = new UserCodeLoadContext(UserAssembly, UserCodeLoadContext.SharedAssemblyNames());
        try
        {
            var protobuf = context.LoadFromAssemblyName(new AssemblyName("Google.Protobuf"));

            Assert.Same(context, AssemblyLoadContext.GetLoadContext(protobuf));
            Assert.NotSame(typeof(MessageParser).Assembly, protobuf);
            Assert.Equal(Path.Combine(Path.GetDirectoryName(UserAssembly)!, "Google.Protobuf.dll"), protobuf.Location);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Load_SharedAssemblies_ResolveToTheRuntimesOwnInstances()
    {
        var context = new UserCodeLoadContext(UserAssembly, UserCodeLoadContext.SharedAssemblyNames());
        try
        {
            foreach (var runtimeCopy in new[] { typeof(JexFunctionAttribute).Assembly, typeof(ILogger).Assembly, typeof(IServiceCollection).Assembly, typeof(object).Assembly })
            {
                var loaded = context.LoadFromAssemblyName(runtimeCopy.GetName());
                Assert.Same(runtimeCopy, loaded);
                Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(loaded));
            }
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void Load_AssemblyTheUserLibraryDoesNotShip_FallsBackToTheDefaultContext()
    {
        // A copy of this assembly alone in a folder, without its .deps.json: it ships no
        // Google.Protobuf, so the runtime's copy must serve it rather than the load failing.
        var dir = Path.Combine(Path.GetTempPath(), "jex-alc-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var copy = Path.Combine(dir, Path.GetFileName(UserAssembly));
        File.Copy(UserAssembly, copy);
        var context = new UserCodeLoadContext(copy, UserCodeLoadContext.SharedAssemblyNames());
        try
        {
            var protobuf = context.LoadFromAssemblyName(new AssemblyName("Google.Protobuf"));
            Assert.Same(typeof(MessageParser).Assembly, protobuf);
        }
        finally
        {
            context.Unload();
            Directory.Delete(dir, recursive: true);
        }
    }
}

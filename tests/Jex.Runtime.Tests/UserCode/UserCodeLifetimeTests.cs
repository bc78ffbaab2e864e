using System.Reflection;
using System.Text;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Runtime.Tests.UserCode;

public sealed class UserCodeLifetimeTests
{
    private static readonly string DependentSample =
        typeof(UserCodeLifetimeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "JexDependentSampleAssembly").Value
        ?? throw new InvalidOperationException("the JexDependentSampleAssembly metadata is missing from Jex.Runtime.Tests.csproj");

    [Fact]
    public async Task ALibrarysOwnDependency_StillLoadsAtItsFirstCall_AfterGarbageCollections()
    {
        // Newtonsoft.Json loads into the library's collectible context only when newtonsoftTag first
        // runs. A collectible context whose object nobody holds is unloaded by its finalizer, and a
        // load into it then fails: the catalog must keep its contexts for as long as it lives.
        var catalog = LoadCatalog();
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.True(catalog.TryGet("newtonsoftTag", out var tag));
        var context = FunctionInvokerFactoryTests.NewContext();
        context.MoveTo(new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("""{"a":1}""") });
        await tag.Invoker.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        var output = Encoding.UTF8.GetString(Assert.Single(context.OutputMessages()).Value.Span);
        Assert.StartsWith("""{"a":1,"taggedBy":"Newtonsoft.Json 13.""", output, StringComparison.Ordinal);
        GC.KeepAlive(catalog);
    }

    // Not inlined, so no local of the caller's frame holds anything but the catalog.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static FunctionCatalog LoadCatalog() =>
        UserCodeLoader.Load(DependentSample, NullLoggerFactory.Instance, new PayloadCodecs());
}

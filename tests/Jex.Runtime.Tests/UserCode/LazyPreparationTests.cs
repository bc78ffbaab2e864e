using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.UserCode;
using Jex.UserCode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Runtime.Tests.UserCode;

/// <summary>Functions the loader finds when a test loads this test assembly as user code.</summary>
public static class LazyLoadFunctions
{
    [JexFunction("lazyUpper")]
    public static string Upper(string value) => value.ToUpperInvariant();

    [JexFunction("lazySplit")]
    public static IEnumerable<string> Split(string value, IJexContext context) => value.Split(' ');
}

public sealed class LazyPreparationTests
{
    public static class Shapes
    {
        public static string Upper(string s) => s.ToUpperInvariant();

        public static string NestedEntry(MapEntry<string, MapEntry<string, string>> e) => e.Key;
    }

    private static async Task<string> InvokeOnceAsync(FunctionInvoker invoker, string value)
    {
        var context = FunctionInvokerFactoryTests.NewContext();
        context.MoveTo(new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8(value) });
        await invoker.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(Assert.Single(context.OutputMessages()).Value.Span);
    }

    [Fact]
    public async Task Load_DescribesEveryFunction_ButCompilesNoneUntilItsInvokerIsRead()
    {
        var catalog = UserCodeLoader.Load(typeof(LazyLoadFunctions).Assembly.Location, NullLoggerFactory.Instance, new PayloadCodecs());

        Assert.True(catalog.TryGet("lazyUpper", out var upper));
        Assert.True(catalog.TryGet("lazySplit", out var split));
        Assert.All(catalog.All, f => Assert.Equal(0, f.BuildCount));
        Assert.All(catalog.All, f => Assert.False(f.IsBuilt));
        // The signature the load log and Ready report is there without compiling.
        Assert.Equal("string", upper.Signature.Input);
        Assert.Equal("string", upper.Signature.Output);
        Assert.Equal(FunctionSignature.Types.Cardinality.Many, split.Signature.Cardinality);
        Assert.True(split.Signature.TakesContext);
        Assert.Equal(0, upper.BuildCount);

        Assert.Equal("ABC", await InvokeOnceAsync(upper.Invoker, "abc"));
        Assert.Equal(1, upper.BuildCount);
        Assert.Same(upper.Signature, upper.Invoker.Signature);
        Assert.Equal(1, upper.BuildCount);
        Assert.False(split.IsBuilt);
    }

    [Fact]
    public async Task Invoker_ReadFromManyThreadsAtOnce_IsBuiltOnceAndShared()
    {
        var plan = FunctionInvokerFactory.Plan(typeof(Shapes).GetMethod(nameof(Shapes.Upper))!, null, new PayloadCodecs());
        var builds = 0;
        var descriptor = new FunctionDescriptor("upper", "Shapes.Upper", "test", plan.Signature, () =>
        {
            Interlocked.Increment(ref builds);
            // Long enough that every racer arrives while the first build is still running.
            Thread.Sleep(100);
            return FunctionInvokerFactory.Build(plan);
        });
        const int Racers = 8;
        using var start = new Barrier(Racers);
        var reads = Enumerable.Range(0, Racers).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            return descriptor.Invoker;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var invokers = await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, builds);
        Assert.Equal(1, descriptor.BuildCount);
        Assert.All(invokers, i => Assert.Same(invokers[0], i));
        Assert.Equal("XY", await InvokeOnceAsync(invokers[0], "xy"));
    }

    [Fact]
    public void Invoker_WhenTheBuildFails_RefusesTheSessionAsInternalNamingTheFunction_AndRetriesOnTheNextRead()
    {
        var plan = FunctionInvokerFactory.Plan(typeof(Shapes).GetMethod(nameof(Shapes.Upper))!, null, new PayloadCodecs());
        var descriptor = new FunctionDescriptor("upper", "Shapes.Upper", "/x/User.dll", plan.Signature,
            () => throw new InvalidOperationException("cannot compile"));

        var e = Assert.Throws<SessionRejectedException>(() => descriptor.Invoker);
        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.Contains("'upper'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Shapes.Upper", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot compile", e.Message, StringComparison.Ordinal);
        Assert.False(descriptor.IsBuilt);
        Assert.Throws<SessionRejectedException>(() => descriptor.Invoker);
        Assert.Equal(2, descriptor.BuildCount);
    }

    [Fact]
    public void Plan_WithATypeNoBinderTakes_IsRefusedAtLoadNotAtFirstUse()
    {
        var e = Assert.Throws<NotSupportedException>(() => FunctionInvokerFactory.Plan(
            typeof(Shapes).GetMethod(nameof(Shapes.NestedEntry))!, null, new PayloadCodecs()));
        Assert.Contains("nested in another type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DescriptorMadeFromABuiltInvoker_IsBuiltAndNeverRebuilds()
    {
        var invoker = FunctionInvokerFactory.Create(typeof(Shapes).GetMethod(nameof(Shapes.Upper))!, null, new PayloadCodecs());
        var descriptor = new FunctionDescriptor("upper", "Shapes.Upper", "test", invoker);

        Assert.True(descriptor.IsBuilt);
        Assert.Same(invoker, descriptor.Invoker);
        Assert.Same(invoker.Signature, descriptor.Signature);
        Assert.Equal(0, descriptor.BuildCount);
    }
}

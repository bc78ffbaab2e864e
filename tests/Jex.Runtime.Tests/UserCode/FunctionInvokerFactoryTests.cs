using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Jex.UserCode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Runtime.Tests.UserCode;

public sealed class FunctionInvokerFactoryTests
{
    public sealed class Point
    {
        public int X { get; set; }

        public int Y { get; set; }
    }

#pragma warning disable CA1822 // Instance functions are part of what is tested.
    public sealed class Shapes
    {
        public static string Upper(string s) => s.ToUpperInvariant();

        public static Task<string> UpperTask(string s) => Task.FromResult(s.ToUpperInvariant());

        public static async ValueTask<string> UpperValueTask(string s)
        {
            await Task.Yield();
            return s.ToUpperInvariant();
        }

        public static string? KeepLong(string s) => s.Length > 3 ? s : null;

        public static IEnumerable<string> Split(string s) => s.Split(' ');

        public static List<string> SplitList(string s) => [.. s.Split(' ')];

        public static async IAsyncEnumerable<string> SplitAsync(string s, [EnumeratorCancellation] CancellationToken ct)
        {
            foreach (var part in s.Split(' '))
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
                yield return part;
            }
        }

        public static Task<IEnumerable<string>> SplitTask(string s) => Task.FromResult<IEnumerable<string>>(s.Split(' '));

        public static void Nothing(string s) => _ = s;

        public static Task NothingAsync(string s) => Task.CompletedTask;

        public static Point Swap(Point p) => new() { X = p.Y, Y = p.X };

        public static MapEntry<string, Point> Entry(MapEntry<string, Point> e) => new(e.Key + "!", new Point { X = e.Value.X + 1 });

        public static string WithContext(string s, IJexContext context, CancellationToken ct) =>
            $"{s}@{context.JobName}/{context.BatchId}/{context.Partition}/{ct.CanBeCanceled}";

        public static int Length(byte[] bytes) => bytes.Length;

        public static ReadOnlyMemory<byte> Same(ReadOnlyMemory<byte> bytes) => bytes;

        public string Instance(string s) => s + "-instance";

        public static string Throws(string s) => throw new InvalidOperationException("boom " + s);

        public static string NoParams() => "x";

        public static string TwoItems(string a, string b) => a + b;

        public static string ContextFirst(IJexContext context) => context.JobName;

        public static T Generic<T>(T value) => value;

        public static void RefParam(ref string s) => s += "!";
    }
#pragma warning restore CA1822

    private static readonly PayloadCodecs Codecs = new();
    private static readonly CancellationTokenSource BatchCancellation = new();

    private static FunctionInvoker Create(string name, object? target = null) =>
        FunctionInvokerFactory.Create(typeof(Shapes).GetMethod(name)!, target, Codecs);

    private static async Task<List<Output>> InvokeAsync(FunctionInvoker invoker, string value, Format format = Format.Text, string key = "k")
    {
        var context = NewContext(format);
        context.MoveTo(new Item { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Partition = 3 });
        await invoker.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return context.OutputMessages();
    }

    internal static InvocationContext NewContext(Format valueFormat = Format.Text)
    {
        var session = new SessionInfo
        {
            JobId = "id",
            JobName = "job",
            StageName = "stage",
            FunctionName = "f",
            KeyFormat = Format.Text,
            ValueFormat = valueFormat,
            Settings = new Dictionary<string, string>(),
        };
        return new InvocationContext(session, NullLogger.Instance, 42, BatchCancellation.Token);
    }

    private static string Text(ByteString b) => Encoding.UTF8.GetString(b.Span);

    [Theory]
    [InlineData(nameof(Shapes.Upper), false)]
    [InlineData(nameof(Shapes.UpperTask), true)]
    [InlineData(nameof(Shapes.UpperValueTask), true)]
    public async Task MapShapes_ReturnOneOutputKeyedLikeTheInput(string method, bool isAsync)
    {
        var invoker = Create(method);
        Assert.Equal(FunctionSignature.Types.Cardinality.One, invoker.Signature.Cardinality);
        Assert.Equal(isAsync, invoker.Signature.IsAsync);
        var output = Assert.Single(await InvokeAsync(invoker, "abc", key: "the-key"));
        Assert.Equal("ABC", Text(output.Value));
        Assert.Equal(Format.Text, output.ValueFormat);
        Assert.Equal("the-key", Text(output.Key));
    }

    [Fact]
    public async Task NullResult_FiltersTheItemOut()
    {
        var invoker = Create(nameof(Shapes.KeepLong));
        Assert.Empty(await InvokeAsync(invoker, "abc"));
        Assert.Single(await InvokeAsync(invoker, "abcd"));
    }

    [Theory]
    [InlineData(nameof(Shapes.Split), false)]
    [InlineData(nameof(Shapes.SplitList), false)]
    [InlineData(nameof(Shapes.SplitAsync), true)]
    [InlineData(nameof(Shapes.SplitTask), true)]
    public async Task SequenceShapes_FlatMapInOrder(string method, bool isAsync)
    {
        var invoker = Create(method);
        Assert.Equal(FunctionSignature.Types.Cardinality.Many, invoker.Signature.Cardinality);
        Assert.Equal(isAsync, invoker.Signature.IsAsync);
        Assert.Equal(["a", "b", "c"], (await InvokeAsync(invoker, "a b c")).Select(o => Text(o.Value)));
    }

    [Theory]
    [InlineData(nameof(Shapes.Nothing))]
    [InlineData(nameof(Shapes.NothingAsync))]
    public async Task VoidShapes_HaveNoOutput(string method)
    {
        var invoker = Create(method);
        Assert.Equal(FunctionSignature.Types.Cardinality.None, invoker.Signature.Cardinality);
        Assert.Empty(await InvokeAsync(invoker, "x"));
    }

    [Fact]
    public async Task Poco_IsBoundFromJsonCaseInsensitivelyAndWrittenAsCamelCaseJson()
    {
        var invoker = Create(nameof(Shapes.Swap));
        Assert.Equal("json:Point", invoker.Signature.Input);
        var output = Assert.Single(await InvokeAsync(invoker, "{\"X\":1,\"y\":2}", Format.Json));
        Assert.Equal("{\"x\":2,\"y\":1}", Text(output.Value));
        Assert.Equal(Format.Json, output.ValueFormat);
    }

    [Fact]
    public async Task MapEntry_BindsKeyAndValueAndChoosesTheOutputKey()
    {
        var invoker = Create(nameof(Shapes.Entry));
        Assert.Equal("entry<string,json:Point>", invoker.Signature.Input);
        var output = Assert.Single(await InvokeAsync(invoker, "{\"x\":1}", Format.Json, key: "k1"));
        Assert.Equal("k1!", Text(output.Key));
        Assert.Equal("{\"x\":2,\"y\":0}", Text(output.Value));
    }

    [Fact]
    public async Task Context_AndCancellationToken_AreInjectedAfterTheItem()
    {
        var invoker = Create(nameof(Shapes.WithContext));
        Assert.True(invoker.Signature.TakesContext);
        Assert.Equal("s@job/42/3/True", Text(Assert.Single(await InvokeAsync(invoker, "s")).Value));
    }

    [Fact]
    public async Task Bytes_AreHandedOverAsTheyAreOnTheWire()
    {
        Assert.Equal("6", Text(Assert.Single(await InvokeAsync(Create(nameof(Shapes.Length)), "héllo")).Value));
        var same = Assert.Single(await InvokeAsync(Create(nameof(Shapes.Same)), "raw", Format.Bytes));
        Assert.Equal("raw", Text(same.Value));
        Assert.Equal(Format.Bytes, same.ValueFormat);
    }

    [Fact]
    public async Task InstanceMethod_UsesItsTarget()
    {
        var invoker = Create(nameof(Shapes.Instance), new Shapes());
        Assert.Equal("a-instance", Text(Assert.Single(await InvokeAsync(invoker, "a")).Value));
    }

    [Fact]
    public async Task UserException_PropagatesUnchanged()
    {
        var invoker = Create(nameof(Shapes.Throws));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => InvokeAsync(invoker, "x"));
        Assert.Equal("boom x", e.Message);
    }

    [Fact]
    public async Task BadJson_IsABindingErrorNamingTheType()
    {
        var invoker = Create(nameof(Shapes.Swap));
        var e = await Assert.ThrowsAsync<PayloadBindingException>(() => InvokeAsync(invoker, "{not json", Format.Json));
        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Contains("json:Point", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HazelcastFormat_WithoutACodec_IsABindingError()
    {
        var e = await Assert.ThrowsAsync<PayloadBindingException>(() => InvokeAsync(Create(nameof(Shapes.Upper)), "x", Format.Hazelcast));
        Assert.Contains("FORMAT_HAZELCAST", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(Shapes.NoParams), "takes the item as its first parameter")]
    [InlineData(nameof(Shapes.TwoItems), "parameter 'b' has type String")]
    [InlineData(nameof(Shapes.ContextFirst), "first parameter must be the item")]
    [InlineData(nameof(Shapes.Generic), "generic methods are not supported")]
    [InlineData(nameof(Shapes.RefParam), "ref, out and in parameters are not supported")]
    public void UnsupportedSignature_IsRefusedWithAReason(string method, string reason)
    {
        var e = Assert.Throws<NotSupportedException>(() => FunctionInvokerFactory.Create(
            typeof(Shapes).GetMethod(method, BindingFlags.Public | BindingFlags.Static)!, null, Codecs));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}

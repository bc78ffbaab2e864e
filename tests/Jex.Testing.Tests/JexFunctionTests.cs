using System.Text;
using Jex.Samples;

namespace Jex.Testing.Tests;

public sealed class JexFunctionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Load_ByType_DescribesTheFunctionAsTheRuntimeDoes()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");

        Assert.Equal("doThingDotnet", f.Name);
        Assert.Equal("Jex.Samples.DemoFunctions.DoThing", f.Method);
        Assert.Equal("json:SomeThing or compact:some-thing", f.InputDescription);
        Assert.Equal("json:OtherThing or compact:other-thing", f.OutputDescription);
        Assert.Equal(typeof(SomeThing).Assembly.Location, f.AssemblyPath);
    }

    [Fact]
    public void Load_UnknownName_ThrowsNamingTheFunctionsTheAssemblyHas()
    {
        var e = Assert.Throws<ArgumentException>(() => JexFunction.Load<SomeThing>("doesNotExist"));

        Assert.Contains("'doesNotExist'", e.Message, StringComparison.Ordinal);
        Assert.Contains("doThingDotnet", e.Message, StringComparison.Ordinal);
        Assert.Contains("throwOnDemand", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingPath_ThrowsNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "jex-no-such-" + Guid.NewGuid().ToString("N"), "X.dll");

        var e = Assert.Throws<FileNotFoundException>(() => JexFunction.Load(path, "identity"));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FolderWithoutUserAssemblies_ThrowsTheRuntimesMessage()
    {
        var dir = Directory.CreateTempSubdirectory("jex-empty-");
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => JexFunction.Load(dir.FullName, "identity"));

            Assert.Contains("no assembly referencing Jex.UserCode was found", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task InvokeAsync_Json_BindsThePocoAndWritesCamelCaseJson()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");

        var result = await f.InvokeAsync(JexInput.Json("""{"value":20}""").WithKey("k-1")).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal("""{"value":"__20__"}""", output.Text);
        Assert.Equal(JexFormat.Json, output.ValueFormat);
        Assert.Equal("k-1", output.KeyText);
        Assert.Equal(JexFormat.Text, output.KeyFormat);
        Assert.Equal("__20__", result.Json<OtherThing>().Value);
    }

    [Fact]
    public async Task InvokeAsync_Text_FlatMapGivesOneOutputPerPart()
    {
        var f = JexFunction.Load<SomeThing>("explode");

        var result = await f.InvokeAsync(JexInput.Text("a,b,,c")).WaitAsync(Timeout);

        Assert.Equal(["a", "b", "c"], result.Texts);
        Assert.All(result.Outputs, o => Assert.Equal(JexFormat.Text, o.ValueFormat));
    }

    [Fact]
    public async Task InvokeAsync_NullResult_IsFilteredWithNoError()
    {
        var f = JexFunction.Load<SomeThing>("filterEven");

        var odd = await f.InvokeAsync(JexInput.Text("3")).WaitAsync(Timeout);
        var even = await f.InvokeAsync(JexInput.Text("4")).WaitAsync(Timeout);

        Assert.True(odd.Filtered);
        Assert.Null(odd.Error);
        Assert.Empty(odd.Outputs);
        Assert.False(even.Filtered);
        Assert.Equal(["4"], even.Texts);
    }

    [Fact]
    public async Task InvokeAsync_Bytes_KeepsTheInputFormatAndBytes()
    {
        var f = JexFunction.Load<SomeThing>("identity");
        byte[] payload = [0, 1, 2, 255];

        var result = await f.InvokeAsync(JexInput.Bytes(payload)).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal(payload, output.Value);
        Assert.Equal(JexFormat.Bytes, output.ValueFormat);
    }

    [Fact]
    public async Task InvokeAsync_MapEntry_BindsKeyAndValueAndKeysTheOutputByTheEntry()
    {
        var f = JexFunction.Load<SomeThing>("upperEntry");

        var result = await f.InvokeAsync(JexInput.Entry("user-7", JexInput.Text("hello"))).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal("upper:user-7", output.KeyText);
        Assert.Equal("HELLO", output.Text);
    }

    [Fact]
    public async Task InvokeAsync_UserException_GivesTheItemErrorWithTypeMessageAndStack()
    {
        var f = JexFunction.Load<SomeThing>("throwOnDemand");

        var result = await f.InvokeAsync(JexInput.Text("throw it")).WaitAsync(Timeout);

        Assert.True(result.Failed);
        var error = Assert.IsType<JexItemError>(result.Error);
        Assert.Equal(JexErrorCode.UserException, error.Code);
        Assert.Equal("System.InvalidOperationException", error.Type);
        Assert.Equal("asked to throw by 'throw it'", error.Message);
        // The user frame itself may be inlined in Release; the runtime's invoker frame is always there.
        Assert.Contains("at Jex.Runtime.UserCode.FunctionInvoker`2.InvokeAsync", error.Stack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outputs_OfAFailedItem_ThrowWithTheItemError()
    {
        var f = JexFunction.Load<SomeThing>("throwOnDemand");
        var result = await f.InvokeAsync(JexInput.Text("throw")).WaitAsync(Timeout);

        var e = Assert.Throws<JexItemFailedException>(() => result.Texts);

        Assert.Same(result.Error, e.Error);
        Assert.Contains("asked to throw by 'throw'", e.Message, StringComparison.Ordinal);
        Assert.Throws<JexItemFailedException>(() => result.EnsureSucceeded());
    }

    [Fact]
    public async Task InvokeAsync_JsonThatDoesNotBind_GivesADecodeErrorNamingTheType()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");

        var result = await f.InvokeAsync(JexInput.Json("""{"value":"not a number"}""")).WaitAsync(Timeout);

        var error = Assert.IsType<JexItemError>(result.Error);
        Assert.Equal(JexErrorCode.Decode, error.Code);
        Assert.Equal("System.Text.Json.JsonException", error.Type);
        Assert.StartsWith("cannot bind item to json:SomeThing:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeManyAsync_RunsEveryItemInOrder_AFailureDoesNotStopTheNext()
    {
        var f = JexFunction.Load<SomeThing>("throwOnDemand");

        var results = await f.InvokeManyAsync([JexInput.Text("a"), JexInput.Text("throw"), JexInput.Text("c")]).WaitAsync(Timeout);

        Assert.Equal(3, results.Count);
        Assert.Equal(["a"], results[0].Texts);
        Assert.Equal(JexErrorCode.UserException, results[1].Error?.Code);
        Assert.Equal(["c"], results[2].Texts);
    }

    [Fact]
    public async Task InvokeAsync_AsyncFlatMap_CollectsEveryYieldedOutput()
    {
        var f = JexFunction.Load<SomeThing>("charsAsync");

        var result = await f.InvokeAsync(JexInput.Text("héllo")).WaitAsync(Timeout);

        Assert.Equal(["h", "é", "l", "l", "o"], result.Texts);
    }

    [Fact]
    public async Task InvokeAsync_Compact_RoundTripsThroughTheRuntimesCompactCodec()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");
        var input = JexInput.Compact(new SomeThing { Value = 20 }).WithKey("k-1");

        var result = await f.InvokeAsync(input).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal(JexFormat.Hazelcast, output.ValueFormat);
        Assert.Equal(JexFormat.Hazelcast, output.KeyFormat);
        Assert.Equal("k-1", output.KeyAsHazelcastString());
        var schema = Assert.Single(result.Schemas);
        Assert.Equal("other-thing", schema.TypeName);
        Assert.Equal([new JexCompactField("value", "STRING")], schema.Fields);
        Assert.Equal("__20__", result.Compact<OtherThing>().Value);
    }

    [Fact]
    public void Compact_CarriesTheSchemaTheRecordUses()
    {
        var input = JexInput.Compact(new SomeThing { Value = 1 });

        var schema = Assert.Single(input.Schemas);
        Assert.Equal("some-thing", schema.TypeName);
        Assert.Equal([new JexCompactField("value", "INT32")], schema.Fields);
        Assert.Equal(JexCompactSchema.Create("some-thing", new JexCompactField("value", "INT32")).Id, schema.Id);
    }

    [Fact]
    public void Compact_OfATypeThatIsNotCompact_ThrowsSayingWhatToDo()
    {
        var e = Assert.Throws<ArgumentException>(() => JexInput.Compact(new Version(1, 2)));

        Assert.Contains("System.Version is not a Compact type", e.Message, StringComparison.Ordinal);
        Assert.Contains("[CompactType(", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_CompactWithoutItsSchema_GivesUnknownSchema()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");
        var encoded = JexInput.Compact(new SomeThing { Value = 5 });

        var result = await f.InvokeAsync(JexInput.HazelcastData(encoded.Value.Span)).WaitAsync(Timeout);

        Assert.Equal(JexErrorCode.UnknownSchema, result.Error?.Code);
    }

    [Fact]
    public async Task InvokeAsync_HazelcastDataWithSchemasFromJson_Binds()
    {
        var f = JexFunction.Load<SomeThing>("doThingDotnet");
        var schemas = JexCompactSchema.Parse("""[{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]}]""");
        var data = JexInput.Compact(new SomeThing { Value = 7 }).Value;

        var result = await f.InvokeAsync(JexInput.HazelcastData(data.Span, schemas)).WaitAsync(Timeout);

        Assert.Equal("__7__", result.Compact<OtherThing>().Value);
    }

    [Fact]
    public void Schema_WithAnUnknownKind_ThrowsNamingTheField()
    {
        var e = Assert.Throws<ArgumentException>(() => JexCompactSchema.Create("t", new JexCompactField("f", "INT33")));

        Assert.Contains("field 'f'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'INT33'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_ToJson_ParsesBackToTheSameSchema()
    {
        var schema = JexCompactSchema.Create("pair", new JexCompactField("name", "STRING"), new JexCompactField("count", "INT64"));

        var parsed = Assert.Single(JexCompactSchema.Parse("[" + schema.ToJson() + "]"));

        Assert.Equal(schema.Id, parsed.Id);
        Assert.Equal(schema.Fields, parsed.Fields);
    }

    [Fact]
    public async Task InvokeAsync_ByteArrayParameter_GetsTheValueBytes()
    {
        var f = JexFunction.Load<SomeThing>("byteCount");

        var result = await f.InvokeAsync(JexInput.Text("ü")).WaitAsync(Timeout);

        Assert.Equal(["2"], result.Texts);
    }

    [Fact]
    public async Task InvokeAsync_WithoutAKey_UsesTheContextsRawKey()
    {
        var f = JexFunction.Load<SomeThing>("identity");
        var context = new TestJexContext { RawKey = Encoding.UTF8.GetBytes("ctx-key") };

        var result = await f.InvokeAsync(JexInput.Text("v"), context).WaitAsync(Timeout);

        var output = Assert.Single(result.Outputs);
        Assert.Equal("ctx-key", output.KeyText);
        Assert.Equal(JexFormat.Bytes, output.KeyFormat);
    }
}

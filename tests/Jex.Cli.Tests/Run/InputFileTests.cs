using Google.Protobuf;
using Jex.Cli.Run;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class InputFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"jex-input-{Guid.NewGuid():N}.jsonl");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Load_WhenLinesAreGood_SkipsBlankAndCommentLinesAndKeepsLineNumbers()
    {
        File.WriteAllText(_path, "# demo\n{\"key\":\"a\",\"value\":{\"value\":1}}\n\n{\"key\":7,\"value\":\"x\",\"type\":\"T\"}\n");

        var entries = InputFile.Load(_path);

        Assert.Equal(2, entries.Count);
        Assert.Equal(("a", 2, (string?)null), (entries[0].Key, entries[0].Line, entries[0].Type));
        Assert.Equal("{\"value\":1}", entries[0].Value.GetRawText());
        Assert.Equal(("7", 4, "T"), (entries[1].Key, entries[1].Line, entries[1].Type));
    }

    [Fact]
    public void Load_WhenTheFileIsMissing_FailsNamingTheFile()
    {
        var ex = Assert.Throws<InputFileException>(() => InputFile.Load(_path));

        Assert.StartsWith($"{_path}: cannot read: ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"key\":\"a\",\"value\":1", "not valid JSON")]
    [InlineData("{\"value\":1}", "missing \"key\"")]
    [InlineData("{\"key\":\"a\"}", "missing \"value\"")]
    [InlineData("[1,2]", "expected an object")]
    [InlineData("{\"key\":\"a\",\"value\":1,\"vlaue\":2}", "unknown field \"vlaue\"")]
    public void Load_WhenALineIsBad_FailsNamingFileAndLine(string bad, string expected)
    {
        File.WriteAllText(_path, "{\"key\":\"ok\",\"value\":1}\n# comment\n" + bad + "\n{\"key\":\"after\",\"value\":2}\n");

        var ex = Assert.Throws<InputFileException>(() => InputFile.Load(_path));

        Assert.StartsWith($"{_path}:3: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}

public sealed class JsonValueFormatTests
{
    private readonly JsonValueFormat _format = new();

    [Fact]
    public void Display_WhenTypeIsKnown_PrintsLikeTheSeed()
    {
        var value = _format.EncodeValue(JsonValues.Parse("{\"value\":20}"));

        Assert.Equal("SomeThing(Value=20)", _format.Display(value, Format.Json, "SomeThing"));
        Assert.Equal("OtherThing(Value=__20__)", _format.Display(ByteString.CopyFromUtf8("{\"value\":\"__20__\"}"), Format.Json, ValueFormats.TypeNameOf("json:Jex.Samples.OtherThing")));
        Assert.Equal("{\"value\":20}", _format.Display(value, Format.Json, null));
    }

    [Theory]
    [InlineData("json:Jex.Samples.SomeThing", "SomeThing")]
    [InlineData("json:Outer+Inner", "Inner")]
    [InlineData("compact:other-thing", "OtherThing")]
    [InlineData("string", null)]
    [InlineData("", null)]
    public void TypeNameOf_TakesTheShortTypeName(string kind, string? expected) =>
        Assert.Equal(expected, ValueFormats.TypeNameOf(kind));
}

using Jex.Cli.Run;

namespace Jex.Cli.Tests.Run;

/// <summary>The transform's format: compact with its schemas and type-name keys.</summary>
public sealed class JobFileCompactKeysTests : IDisposable
{
    private const string SomeThing = """{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]}""";
    private const string OtherThing = """{"typeName":"other-thing","fields":[{"name":"value","kind":"STRING"}]}""";

    private readonly string _root = Directory.CreateTempSubdirectory("jex-compact-job-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string JobPath => Path.Combine(_root, "job.yml");

    private static string Job(string transformKeys) => $"""
        job:
          name: c
          pipeline:
            - source: map-journal
              map-name: in
            - transform: user-code
              function: doThingDotnet
              runtime:
                user-code: code
        {transformKeys}
            - sink: map
              map-name: out
        """;

    private JobDefinition Parse(string transformKeys) =>
        new JobFileParser(JobPath, new Dictionary<string, string>(), uid: "u", platform: "linux-x64").Parse(Job(transformKeys));

    private JobFileException ParseFails(string transformKeys) => Assert.Throws<JobFileException>(() => Parse(transformKeys));

    private void Schemas(string json, string name = "schemas.json") => File.WriteAllText(Path.Combine(_root, name), json);

    [Fact]
    public void Parse_CompactWithTheOnlySchema_ReadsTheFileRelativeToTheJobAndTakesItsType()
    {
        Schemas($"[{SomeThing}]");

        var compact = Parse("      format: compact\n      schemas: schemas.json").Transform.Compact;

        Assert.NotNull(compact);
        Assert.Equal(Path.Combine(_root, "schemas.json"), compact.SchemasPath);
        Assert.Equal("some-thing", compact.TypeName);
        var schema = Assert.Single(compact.Schemas);
        Assert.Equal(("some-thing", "value"), (schema.TypeName, schema.Fields[0].Name));
    }

    [Fact]
    public void Parse_CompactWithTwoSchemasAndATypeName_TakesTheNamedType()
    {
        Schemas($"[{SomeThing},{OtherThing}]");

        var compact = Parse("      format: compact\n      schemas: schemas.json\n      type-name: other-thing").Transform.Compact;

        Assert.Equal("other-thing", compact!.TypeName);
        Assert.Equal(2, compact.Schemas.Count);
    }

    [Fact]
    public void Parse_CompactWithTwoSchemasAndNoTypeName_SaysWhichKeyToAddAndNamesTheTypes()
    {
        Schemas($"[{SomeThing},{OtherThing}]");

        var ex = ParseFails("      format: compact\n      schemas: schemas.json");

        Assert.Equal("job.pipeline[1].type-name", ex.Key);
        Assert.Contains("has more than one schema (other-thing, some-thing); say which the input values are with 'type-name: NAME'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CompactWithAnUnknownTypeName_NamesTheTypesTheFileHas()
    {
        Schemas($"[{SomeThing}]");

        var ex = ParseFails("      format: compact\n      schemas: schemas.json\n      type-name: no-thing");

        Assert.Equal("job.pipeline[1].type-name", ex.Key);
        Assert.Contains("no schema for type 'no-thing' in ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(it has: some-thing)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CompactWithoutSchemas_NamesTheMissingKeyAndTheFileFormat()
    {
        var ex = ParseFails("      format: compact");

        Assert.Equal("job.pipeline[1].schemas", ex.Key);
        Assert.Contains("format: compact needs 'schemas: FILE'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CompactWithAMissingSchemaFile_NamesTheKeyLineAndResolvedPath()
    {
        var ex = ParseFails("      format: compact\n      schemas: nowhere.json");

        Assert.Equal("job.pipeline[1].schemas", ex.Key);
        Assert.Equal(11, ex.Line);
        Assert.Contains($"the schema file {Path.Combine(_root, "nowhere.json")} does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("""{"typeName":"x"}""", "expected a JSON array of schemas")]
    [InlineData("""[{"typeName":"x","fields":[{"name":"v","kind":"INT33"}]}]""", "field 'v' has unknown kind 'INT33'")]
    [InlineData("[]", "holds no schema")]
    public void Parse_CompactWithAnInvalidSchemaFile_SaysWhatIsWrongWithIt(string content, string expected)
    {
        Schemas(content);

        var ex = ParseFails("      format: compact\n      schemas: schemas.json");

        Assert.Equal("job.pipeline[1].schemas", ex.Key);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("      schemas: schemas.json", "schemas")]
    [InlineData("      format: text\n      type-name: some-thing", "type-name")]
    public void Parse_CompactKeysWithAnotherFormat_AreRefused(string keys, string key)
    {
        Schemas($"[{SomeThing}]");

        var ex = ParseFails(keys);

        Assert.Equal($"job.pipeline[1].{key}", ex.Key);
        Assert.Contains($"'{key}' is only for 'format: compact'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_JsonFormat_HasNoCompactSpec()
    {
        Assert.Null(Parse("      format: json").Transform.Compact);
    }
}

using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Cli.Data;
using Jex.Cli.Run;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class CompactValueFormatTests : IDisposable
{
    // some-thing {value: 20} as hazelcast-client writes it (the vectors tier proves the codec against it).
    private const string SomeThing20Hex = "00000000ffffffc9462e8dfd6146592700000014";

    private static readonly Schema SomeThing = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThing = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);

    private readonly string _root = Directory.CreateTempSubdirectory("jex-compact-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string SchemaFile(string json)
    {
        var path = Path.Combine(_root, "schemas.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static CompactValueFormat Format(string typeName = "some-thing", params Schema[] schemas) =>
        new(new CompactSpec("/jobs/schemas.json", schemas.Length == 0 ? [SomeThing] : schemas, typeName));

    /// <summary>What <c>jex data encode --schemas FILE --as compact JSON</c> prints, as bytes.</summary>
    private static byte[] DataEncode(string schemasFile, string json)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = DataCommand.Create(stdout, stderr).Parse(["encode", "--schemas", schemasFile, "--as", "compact", json]).Invoke();
        Assert.True(exit == 0, stderr.ToString());
        return Convert.FromHexString(stdout.ToString().Trim());
    }

    [Fact]
    public void EncodeValue_OfAnObjectWithoutType_GivesTheBytesOfDataEncodeWithTheTypeName()
    {
        var file = SchemaFile("""[{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]}]""");

        var bytes = Format().EncodeValue(JsonValues.Parse("""{"value": 20}""")).ToByteArray();

        Assert.Equal(DataEncode(file, """{"$type":"some-thing","value":20}"""), bytes);
        Assert.Equal(Convert.FromHexString(SomeThing20Hex), bytes);
    }

    [Fact]
    public void EncodeValue_OfAnObjectThatNamesItsType_UsesThatSchemaAsDataEncodeDoes()
    {
        var file = SchemaFile("""[{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]},{"typeName":"other-thing","fields":[{"name":"value","kind":"STRING"}]}]""");
        var format = Format("some-thing", SomeThing, OtherThing);
        const string json = """{"$type":"other-thing","value":"__7__"}""";

        var bytes = format.EncodeValue(JsonValues.Parse(json)).ToByteArray();

        Assert.Equal(DataEncode(file, json), bytes);
        var record = Assert.IsType<CompactRecord>(HazelcastSerializer.Deserialize(bytes, Registry(OtherThing)));
        Assert.Equal("__7__", record["value"]);
    }

    [Fact]
    public void EncodeValue_WhenAFieldIsMissing_ThrowsNamingTheFieldAndType()
    {
        var ex = Assert.Throws<HazelcastCodecException>(() => Format().EncodeValue(JsonValues.Parse("""{"other": 1}""")));

        Assert.Contains("'some-thing' has no field 'other'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckInput_NamesTheInputLineKeyAndSchemaFileOfTheFirstValueThatDoesNotFit()
    {
        var entries = new List<InputEntry>
        {
            new("a", JsonValues.Parse("""{"value": 1}"""), null, 3),
            new("b", JsonValues.Parse("""{"value": "x"}"""), null, 4),
        };

        var message = Format().CheckInput(entries, "data/in.jsonl");

        Assert.NotNull(message);
        Assert.StartsWith("data/in.jsonl:4: the value of 'b' does not fit the Compact schemas in /jobs/schemas.json: ", message, StringComparison.Ordinal);
        Assert.Null(Format().CheckInput(entries.Take(1), "data/in.jsonl"));
    }

    [Fact]
    public void WriteValue_OfAnOutputWhoseSchemaTheRuntimeAnnounced_WritesItsJson_AndFailsBeforeTheAnnouncement()
    {
        var format = Format();
        var output = ByteString.CopyFrom(HazelcastSerializer.Serialize(new CompactRecord(OtherThing, ["__20__"])));

        Assert.Throws<UnknownSchemaException>(() => Write(format, output));
        format.Learn(SchemasOf(OtherThing));

        Assert.Equal("""{"$type":"other-thing","value":"__20__"}""", Write(format, output));
        Assert.Equal("OtherThing(Value=__20__)", format.Display(output, Protocol.V1.Format.Hazelcast, null));
        Assert.Equal("Thing(Value=__20__)", format.Display(output, Protocol.V1.Format.Hazelcast, "Thing"));
    }

    [Fact]
    public void InputSchemasAndAllSchemas_HoldTheFileSchemasThenThoseTheRuntimeAnnouncedOnce()
    {
        var format = Format();

        var input = Assert.Single(format.InputSchemas.Schemas_);
        Assert.Equal((SomeThing.Id, "some-thing", "value", 9), (input.Id, input.TypeName, input.Fields[0].Name, input.Fields[0].Kind));
        format.Learn(SchemasOf(OtherThing, SomeThing));
        format.Learn(SchemasOf(OtherThing));

        Assert.Equal([SomeThing.Id, OtherThing.Id], format.AllSchemas().Select(s => s.Id));
    }

    [Fact]
    public void KeysAreText_AndValuesHazelcast()
    {
        var format = Format();

        Assert.Equal(("compact", Protocol.V1.Format.Text, Protocol.V1.Format.Hazelcast), (format.Name, format.KeyFormat, format.ValueFormat));
        Assert.Equal("k-1"u8.ToArray(), format.EncodeKey("k-1").ToByteArray());
    }

    private static string Write(CompactValueFormat format, ByteString value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            format.WriteValue(writer, value, Protocol.V1.Format.Hazelcast);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static SchemaRegistry Registry(params Schema[] schemas)
    {
        var registry = new SchemaRegistry();
        foreach (var s in schemas)
        {
            registry.Register(s);
        }

        return registry;
    }

    private static Schemas SchemasOf(params Schema[] schemas)
    {
        var message = new Schemas();
        foreach (var s in schemas)
        {
            var proto = new CompactSchema { Id = s.Id, TypeName = s.TypeName };
            proto.Fields.AddRange(s.Fields.Select(f => new CompactField { Name = f.Name, Kind = (int)f.Kind }));
            message.Schemas_.Add(proto);
        }

        return message;
    }
}

using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Cli.Record;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Record;

public sealed class RecordFormatTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-record-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly RecordHeader Header = new()
    {
        Job = "acme",
        Stage = "enrich",
        Function = "enrichOrder",
        Format = "json",
        KeyFormat = Format.Text,
        ValueFormat = Format.Json,
        UserCode = "/code/bin",
        MaxBatchBytes = 65536,
        Settings = new Dictionary<string, string> { ["threshold"] = "10" },
        Schemas = [new CompactSchema { Id = 42, TypeName = "order", Fields = { new CompactField { Name = "id", Kind = 8 } } }],
    };

    private static Item TextItem(string key, string json) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Value = ByteString.CopyFromUtf8(json),
        TimestampMs = 1700000000000,
        Partition = 3,
        Sequence = 17,
    };

    private static ItemResult Ok(params (string? Key, string Value)[] outputs)
    {
        var result = new Outputs();
        foreach (var (key, value) in outputs)
        {
            result.Outputs_.Add(new Output { Key = key is null ? ByteString.Empty : ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) });
        }

        return new ItemResult { Ok = result };
    }

    private string Write(params RecordedBatch[] batches)
    {
        var path = Path.Combine(_root, "rec.jsonl");
        using (var file = File.Create(path))
        using (var json = new Utf8JsonWriter(file, RecordFormat.WriterOptions))
        {
            RecordFormat.WriteHeader(json, Header);
            json.Flush();
            file.WriteByte((byte)'\n');
            foreach (var batch in batches)
            {
                json.Reset();
                RecordFormat.WriteBatch(json, batch, Format.Text, Format.Json);
                json.Flush();
                file.WriteByte((byte)'\n');
            }
        }

        return path;
    }

    [Fact]
    public void WriteThenRead_GivesBackEveryItemByteForByteWithItsFormatsAndOrder()
    {
        var binary = new Item { Key = ByteString.CopyFrom(0xff, 0x00), Value = ByteString.CopyFrom(1, 2, 3), KeyFormat = Format.Bytes, ValueFormat = Format.Hazelcast };
        var batch = new RecordedBatch(7, [TextItem("o-1", """{"id":"o-1","qty":2}"""), TextItem("ö-2", "\"naïve\""), binary],
            [Ok((null, """{"bulk":false}""")), Ok(), new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.UserException, Type = "System.Exception", Message = "boom", Stack = "at F()" } }]);

        var (header, batches) = RecordFormat.ReadFile(Write(batch));

        Assert.Equal("enrichOrder", header.Function);
        Assert.Equal("10", header.Settings["threshold"]);
        Assert.Equal(Header.Schemas[0], Assert.Single(header.Schemas));
        var read = Assert.Single(batches);
        Assert.Equal(7, read.Sequence);
        var first = TextItem("o-1", """{"id":"o-1","qty":2}""");
        first.KeyFormat = Format.Text;
        first.ValueFormat = Format.Json;
        Assert.Equal(first, read.Items[0]);
        Assert.Equal("ö-2", read.Items[1].Key.ToStringUtf8());
        Assert.Equal(binary, read.Items[2]);
        Assert.Equal(ByteString.Empty, read.Results[0].Ok.Outputs_[0].Key);
        Assert.Equal("""{"bulk":false}""", read.Results[0].Ok.Outputs_[0].Value.ToStringUtf8());
        Assert.Empty(read.Results[1].Ok.Outputs_);
        Assert.Equal(ItemError.Types.Code.UserException, read.Results[2].Error.Code);
        Assert.Equal("at F()", read.Results[2].Error.Stack);
    }

    [Fact]
    public void WriteBatch_StoresTextAsStringsAndOtherBytesAsBase64()
    {
        var batch = new RecordedBatch(1, [TextItem("k", """{"a":1}"""), new Item { Key = ByteString.CopyFromUtf8("b"), Value = ByteString.CopyFrom(0xc3), ValueFormat = Format.Bytes }],
            [Ok(("k", "1")), Ok()]);

        var line = File.ReadAllLines(Write(batch))[1];

        using var doc = JsonDocument.Parse(line);
        var items = doc.RootElement.GetProperty("items");
        Assert.Equal("""{"a":1}""", items[0].GetProperty("value").GetString());
        Assert.Equal("json", items[0].GetProperty("valueFormat").GetString());
        Assert.Equal("ww==", items[1].GetProperty("valueBase64").GetString());
        Assert.Equal("bytes", items[1].GetProperty("valueFormat").GetString());
        Assert.Equal("batch", doc.RootElement.GetProperty("record").GetString());
    }

    [Fact]
    public void ReadFile_WhenALineIsNotARecord_NamesTheFileAndLine()
    {
        var path = Write(new RecordedBatch(1, [TextItem("k", "1")], [Ok()]));
        File.AppendAllText(path, "{\"record\":\"batch\",\"sequence\":2,\"items\":[{\"key\":\"k\"}],\"results\":[]}\n");

        var ex = Assert.Throws<RecordFileException>(() => RecordFormat.ReadFile(path));

        Assert.StartsWith(path + ":3: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_WhenTheFileIsMissing_SaysHowToRecordOne()
    {
        var ex = Assert.Throws<RecordFileException>(() => RecordFormat.ReadFile(Path.Combine(_root, "none.jsonl")));

        Assert.Contains("--record", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ItemError.Types.Code.UserException, "USER_EXCEPTION")]
    [InlineData(ItemError.Types.Code.DeadlineExceeded, "DEADLINE_EXCEEDED")]
    [InlineData(ItemError.Types.Code.Decode, "DECODE")]
    public void CodeName_IsTheProtocolsNameAndParsesBack(ItemError.Types.Code code, string name)
    {
        Assert.Equal(name, RecordFormat.CodeName(code));
        Assert.Equal(code, RecordFormat.ParseCode(name));
    }

    [Fact]
    public void Show_WhenTextIsNotUtf8_FallsBackToBase64()
    {
        Assert.Equal("base64:/w==", RecordFormat.Show(ByteString.CopyFrom(0xff), Format.Text));
        Assert.Equal("héllo", RecordFormat.Show(ByteString.CopyFrom(Encoding.UTF8.GetBytes("héllo")), Format.Text));
    }
}

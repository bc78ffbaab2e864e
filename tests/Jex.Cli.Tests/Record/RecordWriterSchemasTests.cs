using Google.Protobuf;
using Jex.Cli.Record;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Record;

public sealed class RecordWriterSchemasTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-recorder-schemas-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static CompactSchema Schema(long id, string typeName) =>
        new() { Id = id, TypeName = typeName, Fields = { new CompactField { Name = "value", Kind = 9 } } };

    [Fact]
    public async Task Header_WithASchemaSource_HoldsTheSchemasKnownWhenTheFirstBatchReachedTheSink()
    {
        var path = Path.Combine(_root, "rec.jsonl");
        var header = new RecordHeader { Job = "j", Stage = "s", Function = "f", Format = "compact", KeyFormat = Format.Text, ValueFormat = Format.Hazelcast };
        var known = new List<CompactSchema> { Schema(1, "some-thing") };

        await using (var writer = new RecordWriter(path, header, () => [.. known]))
        {
            // The runtime announces its output's schema before the first result.
            known.Add(Schema(2, "other-thing"));
            var item = new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFrom(1, 2, 3) };
            var result = new BatchResult { BatchId = 1 };
            result.Results.Add(new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Value = ByteString.CopyFrom(4, 5) } } } });
            await writer.WriteAsync(new PendingBatch(1, [item], 8), result, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            known.Add(Schema(3, "late-thing"));
        }

        var (read, batches) = RecordFormat.ReadFile(path);

        Assert.Equal([(1L, "some-thing"), (2L, "other-thing")], read.Schemas.Select(s => (s.Id, s.TypeName)));
        Assert.Equal("compact", read.Format);
        Assert.Single(batches);
        Assert.Equal(2, File.ReadAllLines(path).Length);
    }

    [Fact]
    public async Task Header_WithASchemaSourceAndNoBatch_IsStillWrittenAtTheEnd()
    {
        var path = Path.Combine(_root, "empty.jsonl");
        var header = new RecordHeader { Job = "j", Stage = "s", Function = "f", Format = "compact", KeyFormat = Format.Text, ValueFormat = Format.Hazelcast };

        await using (new RecordWriter(path, header, () => [Schema(1, "some-thing")]))
        {
        }

        var (read, batches) = RecordFormat.ReadFile(path);

        Assert.Equal("some-thing", Assert.Single(read.Schemas).TypeName);
        Assert.Empty(batches);
    }
}

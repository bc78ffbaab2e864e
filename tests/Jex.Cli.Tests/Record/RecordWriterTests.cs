using Google.Protobuf;
using Jex.Cli.Record;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Record;

public sealed class RecordWriterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-recorder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task WriteAsync_RecordsEachBatchAsItReachesTheSink_AndReadsBackInThatOrder()
    {
        var path = Path.Combine(_root, "rec.jsonl");
        var header = new RecordHeader { Job = "j", Stage = "s", Function = "f", Format = "json", KeyFormat = Format.Text, ValueFormat = Format.Json };

        await using (var writer = new RecordWriter(path, header))
        {
            foreach (var sequence in new long[] { 1, 2 })
            {
                var item = new Item { Key = ByteString.CopyFromUtf8($"k-{sequence}"), Value = ByteString.CopyFromUtf8($"{{\"v\":{sequence}}}") };
                var result = new BatchResult { BatchId = 9 };
                result.Results.Add(new ItemResult { Ok = new Outputs { Outputs_ = { new Output { Value = ByteString.CopyFromUtf8($"\"__{sequence}__\"") } } } });
                await writer.WriteAsync(new PendingBatch(sequence, [item], 8), result, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            }
        }

        var (read, batches) = RecordFormat.ReadFile(path);

        Assert.Equal("f", read.Function);
        Assert.Equal([1L, 2L], batches.Select(b => b.Sequence));
        Assert.Equal("k-2", batches[1].Items[0].Key.ToStringUtf8());
        Assert.Equal(Format.Json, batches[1].Items[0].ValueFormat);
        Assert.Equal("\"__2__\"", batches[1].Results[0].Ok.Outputs_[0].Value.ToStringUtf8());
        Assert.Equal(3, File.ReadAllLines(path).Length);
    }
}

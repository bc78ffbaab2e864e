using Google.Protobuf;
using Jex.Cli.Run;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class MapSinkTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly string _root = Directory.CreateTempSubdirectory("jex-mapsink-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (PendingBatch Batch, BatchResult Result) TwoOutputsAndAFailure()
    {
        var batch = new PendingBatch(3,
        [
            new Item { Key = ByteString.CopyFromUtf8("a"), Value = ByteString.CopyFromUtf8("{\"n\":1}") },
            new Item { Key = ByteString.CopyFromUtf8("b"), Value = ByteString.CopyFromUtf8("{\"n\":2}") },
        ], 2);
        var result = new BatchResult { BatchId = 1 };
        result.Results.Add(new ItemResult
        {
            Ok = new Outputs
            {
                Outputs_ =
                {
                    // No key: the put goes under the input's key, in the sink's formats.
                    new Output { Value = ByteString.CopyFromUtf8("{\"n\":10}") },
                    // A JSON key and a text value, each named by the output.
                    new Output
                    {
                        Key = ByteString.CopyFromUtf8("{\"id\":7}"), KeyFormat = Format.Json,
                        Value = ByteString.CopyFromUtf8("seven"), ValueFormat = Format.Text,
                    },
                },
            },
        });
        result.Results.Add(new ItemResult { Error = new ItemError { Code = ItemError.Types.Code.UserException, Message = "no" } });
        return (batch, result);
    }

    [Fact]
    public async Task WriteAsync_WithAnOutputFile_WritesOneJsonLinePerPut()
    {
        var path = Path.Combine(_root, "out.jsonl");
        var (batch, result) = TwoOutputsAndAFailure();

        await using (var sink = new MapSink("sink", new JsonValueFormat(), TextWriter.Null, show: 0, path, () => null))
        {
            await sink.WriteAsync(batch, result, CancellationToken.None).AsTask().WaitAsync(Timeout);
            await sink.WriteAsync(batch, result, CancellationToken.None).AsTask().WaitAsync(Timeout);
            Assert.Equal(4, sink.Puts);
            Assert.Equal(["a", "{\"id\":7}"], sink.Entries.Keys.Order(StringComparer.Ordinal));
        }

        // The put log, not a snapshot: the second delivery shows again.
        Assert.Equal(
            "{\"key\":\"a\",\"value\":{\"n\":10}}\n{\"key\":{\"id\":7},\"value\":\"seven\"}\n" +
            "{\"key\":\"a\",\"value\":{\"n\":10}}\n{\"key\":{\"id\":7},\"value\":\"seven\"}\n",
            await File.ReadAllTextAsync(path).WaitAsync(Timeout));
    }

    [Fact]
    public async Task WriteAsync_ShowsOnlyTheFirstPuts_AndWritesNoFileWithoutOne()
    {
        var console = new StringWriter();
        var (batch, result) = TwoOutputsAndAFailure();

        await using (var sink = new MapSink("sink", new JsonValueFormat(), console, show: 1, outputPath: null, () => "Thing"))
        {
            await sink.WriteAsync(batch, result, CancellationToken.None).AsTask().WaitAsync(Timeout);
            Assert.Equal(1, sink.Shown);
        }

        Assert.Equal($"Found: a = Thing(N=10){Environment.NewLine}", console.ToString());
        Assert.Empty(Directory.GetFiles(_root));
    }
}

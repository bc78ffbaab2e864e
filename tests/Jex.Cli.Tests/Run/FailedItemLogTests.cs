using System.Text.Json;
using Google.Protobuf;
using Jex.Cli.Run;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class FailedItemLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-errors-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (PendingBatch Batch, BatchResult Result) OneOkOneFailed()
    {
        var batch = new PendingBatch(5,
        [
            new Item { Key = ByteString.CopyFromUtf8("good"), Value = ByteString.CopyFromUtf8("1") },
            new Item { Key = ByteString.CopyFromUtf8("bad"), Value = ByteString.CopyFromUtf8("2") },
        ], 2);
        var result = new BatchResult { BatchId = 1 };
        result.Results.Add(new ItemResult { Ok = new Outputs() });
        result.Results.Add(new ItemResult
        {
            Error = new ItemError { Code = ItemError.Types.Code.Decode, Type = "System.Text.Json.JsonException", Message = "not an order", Stack = "   at Bind()" },
        });
        return (batch, result);
    }

    [Fact]
    public async Task WriteAsync_WritesOneLinePerFailedItemWithKeyFunctionCodeMessageAndStack()
    {
        var path = Path.Combine(_root, "errors.jsonl");
        var (batch, result) = OneOkOneFailed();

        await using (var log = new FailedItemLog("enrichOrder", path, stacks: null))
        {
            await log.WriteAsync(batch, result, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(1, log.Count);
        }

        var line = Assert.Single(await File.ReadAllLinesAsync(path).WaitAsync(TimeSpan.FromSeconds(5)));
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal("bad", root.GetProperty("key").GetString());
        Assert.Equal("enrichOrder", root.GetProperty("function").GetString());
        Assert.Equal("DECODE", root.GetProperty("code").GetString());
        Assert.Equal("System.Text.Json.JsonException", root.GetProperty("type").GetString());
        Assert.Equal("not an order", root.GetProperty("message").GetString());
        Assert.Equal("   at Bind()", root.GetProperty("stack").GetString());
        Assert.Equal(5, root.GetProperty("batch").GetInt64());
    }

    [Fact]
    public async Task WriteAsync_WithAStackWriter_PrintsTheItemAndItsStack()
    {
        var stacks = new StringWriter();
        var (batch, result) = OneOkOneFailed();

        await using (var log = new FailedItemLog("enrichOrder", null, stacks))
        {
            await log.WriteAsync(batch, result, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(
            $"item bad failed in enrichOrder: DECODE System.Text.Json.JsonException: not an order{Environment.NewLine}   at Bind(){Environment.NewLine}",
            stacks.ToString());
    }
}

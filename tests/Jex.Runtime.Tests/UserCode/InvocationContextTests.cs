using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;

namespace Jex.Runtime.Tests.UserCode;

/// <summary>An item's timestamp, partition and sequence are decoded only when asked for, and are always the current item's.</summary>
public sealed class InvocationContextTests
{
    [Fact]
    public void Metadata_IsTheCurrentItems_WhetherOrNotEarlierItemsWereAskedFor()
    {
        var batch = MemberMessageBuffer.From(new MemberMessage
        {
            Batch = new Batch
            {
                Id = 7,
                Items =
                {
                    Item("a", timestampMs: 1_764_600_000_123, partition: 270, sequence: 9_000_000_001),
                    Item("b", timestampMs: 1_764_600_000_456, partition: 12, sequence: 2),
                    Item("c", timestampMs: -5, partition: -1, sequence: -3),
                    Item("d", timestampMs: 0, partition: 0, sequence: 0),
                },
            },
        });
        batch.Parse();
        var context = FunctionInvokerFactoryTests.NewContext();

        context.MoveTo(batch, batch.Items[0]);
        var first = (context.Timestamp, context.Partition, context.Sequence);
        context.MoveTo(batch, batch.Items[1]);
        context.MoveTo(batch, batch.Items[2]);
        var third = (context.Sequence, context.Partition, context.TimestampMs);
        context.MoveTo(batch, batch.Items[3]);
        var fourth = (context.TimestampMs, context.Partition, context.Sequence);

        Assert.Equal((DateTimeOffset.FromUnixTimeMilliseconds(1_764_600_000_123), 270, 9_000_000_001L), first);
        Assert.Equal((-3L, -1, -5L), third);
        Assert.Equal((0L, 0, 0L), fourth);
        Assert.Equal("d", context.Value.Span.ToArray().Select(b => (char)b).Single().ToString());
        batch.Release();
    }

    private static Item Item(string value, long timestampMs, int partition, long sequence) => new()
    {
        Key = ByteString.CopyFromUtf8("k"),
        Value = ByteString.CopyFromUtf8(value),
        TimestampMs = timestampMs,
        Partition = partition,
        Sequence = sequence,
    };
}

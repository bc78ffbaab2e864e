using System.Text;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;

namespace Jex.Member.Transports;

/// <summary>
/// Encodes a MemberMessage that carries a Batch with hand-written wire code, straight into the
/// destination span. Google.Protobuf's writer computes every item's size twice (once for the
/// message, once more for each item's length prefix) and goes through its general write context
/// per field; a batch is nearly all of the member's traffic, so it is written here field by field.
/// The bytes are exactly what <c>message.WriteTo</c> writes: fields in number order, defaults left
/// out, negative int32/int64 as ten-byte varints. Unknown fields are not written: the member builds
/// its batches from Jet events, never from parsed bytes, so its items have none.
/// </summary>
internal static class BatchMessageWriter
{
    private const byte BatchTag = (3 << 3) | ProtoWire.LengthDelimited;
    private const byte IdTag = (1 << 3) | ProtoWire.Varint;
    private const byte DeadlineTag = (2 << 3) | ProtoWire.Varint;
    private const byte ItemTag = (3 << 3) | ProtoWire.LengthDelimited;
    private const byte TraceParentTag = (4 << 3) | ProtoWire.LengthDelimited;
    private const byte TraceStateTag = (5 << 3) | ProtoWire.LengthDelimited;
    private const byte KeyTag = (1 << 3) | ProtoWire.LengthDelimited;
    private const byte ValueTag = (2 << 3) | ProtoWire.LengthDelimited;
    private const byte KeyFormatTag = (3 << 3) | ProtoWire.Varint;
    private const byte ValueFormatTag = (4 << 3) | ProtoWire.Varint;
    private const byte TimestampTag = (5 << 3) | ProtoWire.Varint;
    private const byte PartitionTag = (6 << 3) | ProtoWire.Varint;
    private const byte SequenceTag = (7 << 3) | ProtoWire.Varint;

    /// <summary>The encoded size of <c>new MemberMessage { Batch = batch }</c>, given <see cref="BatchSize"/>.</summary>
    public static int MessageSize(int batchSize) => 1 + ProtoWire.VarintSize((uint)batchSize) + batchSize;

    /// <summary>
    /// Writes <c>new MemberMessage { Batch = batch }</c>; <paramref name="destination"/> is exactly
    /// <see cref="MessageSize"/> long, and <paramref name="batchSize"/> and <paramref name="itemSizes"/>
    /// are what <see cref="BatchSize"/> computed.
    /// </summary>
    public static void Write(Span<byte> destination, Batch batch, int batchSize, ReadOnlySpan<int> itemSizes)
    {
        destination[0] = BatchTag;
        var pos = ProtoWire.WriteVarint(destination, 1, (uint)batchSize);
        pos = WriteVarintField(destination, pos, IdTag, batch.Id);
        pos = WriteVarintField(destination, pos, DeadlineTag, batch.DeadlineMs);
        var items = batch.Items;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            destination[pos++] = ItemTag;
            pos = ProtoWire.WriteVarint(destination, pos, (uint)itemSizes[i]);
            pos = WriteItem(destination, pos, item);
        }

        pos = WriteString(destination, pos, TraceParentTag, batch.Traceparent);
        pos = WriteString(destination, pos, TraceStateTag, batch.Tracestate);
        if (pos != destination.Length)
        {
            throw new InvalidOperationException($"The batch encoder wrote {pos} bytes where it computed {destination.Length}: the batch changed while it was being sent.");
        }
    }

    /// <summary>
    /// The encoded size of the Batch alone (the MemberMessage's field 3 payload). Each item's size
    /// goes into <paramref name="itemSizes"/> (at least as long as the batch's items), so
    /// <see cref="Write"/> does not compute it again.
    /// </summary>
    public static int BatchSize(Batch batch, Span<int> itemSizes)
    {
        var size = VarintFieldSize(batch.Id) + VarintFieldSize(batch.DeadlineMs)
            + StringSize(batch.Traceparent) + StringSize(batch.Tracestate);
        // An index loop: RepeatedField's enumerator is an object per loop.
        var items = batch.Items;
        for (var i = 0; i < items.Count; i++)
        {
            var itemSize = ItemSize(items[i]);
            itemSizes[i] = itemSize;
            size += 1 + ProtoWire.VarintSize((uint)itemSize) + itemSize;
        }

        return size;
    }

    private static int ItemSize(Item item)
    {
        var key = item.Key.Length;
        var value = item.Value.Length;
        return (key == 0 ? 0 : ProtoWire.DelimitedSize(key))
            + (value == 0 ? 0 : ProtoWire.DelimitedSize(value))
            + ProtoWire.EnumSize((int)item.KeyFormat)
            + ProtoWire.EnumSize((int)item.ValueFormat)
            + VarintFieldSize((ulong)item.TimestampMs)
            + VarintFieldSize((ulong)(long)item.Partition)
            + VarintFieldSize((ulong)item.Sequence);
    }

    private static int WriteItem(Span<byte> destination, int pos, Item item)
    {
        if (item.Key.Length > 0)
        {
            pos = ProtoWire.WriteDelimited(destination, pos, KeyTag, item.Key.Span);
        }

        if (item.Value.Length > 0)
        {
            pos = ProtoWire.WriteDelimited(destination, pos, ValueTag, item.Value.Span);
        }

        pos = ProtoWire.WriteEnum(destination, pos, KeyFormatTag, (int)item.KeyFormat);
        pos = ProtoWire.WriteEnum(destination, pos, ValueFormatTag, (int)item.ValueFormat);
        pos = WriteVarintField(destination, pos, TimestampTag, (ulong)item.TimestampMs);
        pos = WriteVarintField(destination, pos, PartitionTag, (ulong)(long)item.Partition);
        return WriteVarintField(destination, pos, SequenceTag, (ulong)item.Sequence);
    }

    private static int VarintFieldSize(ulong value) => value == 0 ? 0 : 1 + ProtoWire.VarintSize(value);

    private static int WriteVarintField(Span<byte> destination, int pos, byte tag, ulong value)
    {
        if (value == 0)
        {
            return pos;
        }

        destination[pos++] = tag;
        return ProtoWire.WriteVarint(destination, pos, value);
    }

    private static int StringSize(string value) =>
        value.Length == 0 ? 0 : ProtoWire.DelimitedSize(Encoding.UTF8.GetByteCount(value));

    private static int WriteString(Span<byte> destination, int pos, byte tag, string value)
    {
        if (value.Length == 0)
        {
            return pos;
        }

        destination[pos++] = tag;
        pos = ProtoWire.WriteVarint(destination, pos, (uint)Encoding.UTF8.GetByteCount(value));
        return pos + Encoding.UTF8.GetBytes(value, destination[pos..]);
    }
}

using System.Buffers;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;

namespace Jex.Runtime.Dispatch.Wire;

/// <summary>
/// One MemberMessage as bytes, in a buffer rented from the shared pool. Batches, nearly all the
/// traffic, are read in place (<see cref="ParseBatch"/>): items are offsets into the buffer, so a
/// batch costs no object per item. Every other kind is parsed with the generated classes. The
/// buffer goes back to the pool with <see cref="Release"/>, once nothing refers to it any more (for
/// a batch: when its result has been encoded).
/// </summary>
internal sealed class MemberMessageBuffer
{
    private const int BatchField = 3;
    private byte[]? _buffer;
    private ItemView[]? _items;
    private int _itemsRead;
    // Set when the buffer holds a bare Batch (re-encoded from an unusual MemberMessage), not a
    // MemberMessage. A bool fits the object's padding; offsets of the trace context would not.
    private bool _bareBatch;

    private MemberMessageBuffer(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Set when the buffer holds a batch read in place; else <see cref="Message"/> is.</summary>
    public bool IsBatch { get; private set; }

    /// <summary>A message that is not a batch (or a batch in an unusual encoding), parsed.</summary>
    public MemberMessage? Message { get; private set; }

    public ulong BatchId { get; private set; }

    public uint DeadlineMs { get; private set; }

    /// <summary>The size of the encoded Batch message, checked against UserCode:MaxBatchBytes.</summary>
    public int BatchBytes { get; private set; }

    public int ItemCount { get; private set; }

    /// <summary>
    /// Set when the batch broke the limits given to <see cref="Parse(int, int)"/>: its items were
    /// counted but not read, and it must not run.
    /// </summary>
    public bool OverLimit { get; private set; }

    public ReadOnlySpan<ItemView> Items => _items.AsSpan(0, _itemsRead);

    /// <summary>
    /// The batch's W3C traceparent and tracestate (Batch fields 4 and 5) as sent, ASCII, or empty.
    /// Read on demand, only when something traces: the batch's top-level fields are scanned again
    /// (one tag per item, items skipped), so a batch costs no field and no work for them otherwise.
    /// </summary>
    public void ReadTraceContext(out ReadOnlySpan<byte> traceParent, out ReadOnlySpan<byte> traceState)
    {
        traceParent = default;
        traceState = default;
        var span = Span;
        var start = 0;
        var length = span.Length;
        if (!IsBatch || (!_bareBatch && !TryLocateBatch(span, out start, out length)))
        {
            return;
        }

        var batch = span.Slice(start, length);
        var pos = 0;
        while (pos < batch.Length)
        {
            var tag = ProtoWire.ReadTag(batch, ref pos);
            switch (tag)
            {
                case (4 << 3) | ProtoWire.LengthDelimited:
                    traceParent = batch.Slice(ProtoWire.ReadLength(batch, ref pos, out var parentLength), parentLength);
                    break;
                case (5 << 3) | ProtoWire.LengthDelimited:
                    traceState = batch.Slice(ProtoWire.ReadLength(batch, ref pos, out var stateLength), stateLength);
                    break;
                default:
                    ProtoWire.Skip(batch, ref pos, tag);
                    break;
            }
        }
    }

    public ReadOnlyMemory<byte> Slice(int start, int length) => _buffer.AsMemory(start, length);

    /// <summary>A buffer with a copy of <paramref name="bytes"/>.</summary>
    public static MemberMessageBuffer Copy(ReadOnlySpan<byte> bytes) => new(PooledBuffer.Copy(bytes), bytes.Length);

    /// <summary>A buffer with a copy of a sequence (gRPC hands payloads over as one).</summary>
    public static MemberMessageBuffer Copy(in ReadOnlySequence<byte> bytes) => new(PooledBuffer.Copy(bytes, out var length), length);

    /// <summary>A buffer holding an already-built message (tests, the in-process bench path).</summary>
    public static MemberMessageBuffer From(MemberMessage message) => new(PooledBuffer.Encode(message, out var length), length);

    /// <summary>
    /// The field number of the message's first field, read from its first tag without parsing
    /// anything else: 1 for an Init. 0 when the buffer is empty or its first byte is no tag.
    /// </summary>
    public int FirstField()
    {
        var span = Span;
        if (span.IsEmpty)
        {
            return 0;
        }

        try
        {
            var pos = 0;
            return (int)(ProtoWire.ReadTag(span, ref pos) >> 3);
        }
        catch (MalformedMessageException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Reads the message: a batch in place, anything else into <see cref="Message"/>. Throws
    /// <see cref="MalformedMessageException"/> naming the byte at fault when the bytes are not a
    /// MemberMessage. A batch of more than <paramref name="maxItems"/> items or
    /// <paramref name="maxBatchBytes"/> bytes is only counted (<see cref="OverLimit"/>): the work
    /// and memory spent on a batch that will be refused do not grow with its items.
    /// </summary>
    public void Parse(int maxItems = int.MaxValue, int maxBatchBytes = int.MaxValue)
    {
        var span = Span;
        if (TryLocateBatch(span, out var start, out var length))
        {
            ParseBatch(span.Slice(start, length), start, maxItems, maxBatchBytes);
            return;
        }

        try
        {
            Message = MemberMessage.Parser.ParseFrom(span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new MalformedMessageException(e.Message);
        }

        if (Message.KindCase == MemberMessage.KindOneofCase.Batch)
        {
            // A batch split over repeated fields or mixed with other kinds (legal, never sent by
            // our members): Google.Protobuf merged it; re-encode it alone and read that in place.
            var rented = PooledBuffer.Encode(Message.Batch, out var size);
            ReturnBuffer();
            _buffer = rented;
            Length = size;
            Message = null;
            _bareBatch = true;
            ParseBatch(rented.AsSpan(0, size), 0, maxItems, maxBatchBytes);
        }
    }

    /// <summary>
    /// The common shape: exactly one field 3 (the batch), and nothing else but unknown fields.
    /// Anything else goes the general way, which applies protobuf's merge rules.
    /// </summary>
    private static bool TryLocateBatch(ReadOnlySpan<byte> span, out int start, out int length)
    {
        start = -1;
        length = 0;
        var pos = 0;
        while (pos < span.Length)
        {
            var tag = ProtoWire.ReadTag(span, ref pos);
            var field = tag >> 3;
            if (field == BatchField && (tag & 7) == ProtoWire.LengthDelimited && start < 0)
            {
                start = ProtoWire.ReadLength(span, ref pos, out length);
                continue;
            }

            if (field is >= 1 and <= 6)
            {
                return false;
            }

            ProtoWire.Skip(span, ref pos, tag);
        }

        return start >= 0;
    }

    private void ParseBatch(ReadOnlySpan<byte> batch, int offset, int maxItems, int maxBatchBytes)
    {
        IsBatch = true;
        BatchBytes = batch.Length;
        var overLimit = batch.Length > maxBatchBytes;
        var items = _items ?? ArrayPool<ItemView>.Shared.Rent(16);
        var count = 0;
        var pos = 0;
        while (pos < batch.Length)
        {
            var tag = ProtoWire.ReadTag(batch, ref pos);
            switch (tag)
            {
                case (1 << 3) | ProtoWire.Varint:
                    BatchId = ProtoWire.ReadVarint(batch, ref pos);
                    break;
                case (2 << 3) | ProtoWire.Varint:
                    DeadlineMs = (uint)ProtoWire.ReadVarint(batch, ref pos);
                    break;
                case (3 << 3) | ProtoWire.LengthDelimited:
                    var itemStart = ProtoWire.ReadLength(batch, ref pos, out var itemLength);
                    if (overLimit || count >= maxItems)
                    {
                        overLimit = true;
                        count++;
                        break;
                    }

                    if (count == items.Length)
                    {
                        var larger = ArrayPool<ItemView>.Shared.Rent(items.Length * 2);
                        items.AsSpan().CopyTo(larger);
                        ArrayPool<ItemView>.Shared.Return(items);
                        items = larger;
                    }

                    try
                    {
                        items[count] = ItemView.Parse(batch[itemStart..], itemLength, offset + itemStart);
                    }
                    catch (MalformedMessageException e)
                    {
                        throw new MalformedMessageException($"batch item {count}: {e.Message}");
                    }

                    count++;
                    break;
                default:
                    ProtoWire.Skip(batch, ref pos, tag);
                    break;
            }
        }

        _items = items;
        ItemCount = count;
        OverLimit = overLimit;
        _itemsRead = overLimit ? 0 : count;
    }

    /// <summary>Returns the buffers to their pools; the buffer must not be used afterwards.</summary>
    public void Release()
    {
        ReturnBuffer();
        if (_items is { } items)
        {
            _items = null;
            ArrayPool<ItemView>.Shared.Return(items);
        }
    }

    private void ReturnBuffer()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            PooledBuffer.Return(buffer);
        }
    }
}

/// <summary>
/// One item of a batch, as offsets into its message buffer. The key, value and formats are located
/// when the batch is read; the timestamp, partition and sequence (varints user code rarely asks for)
/// are only checked then, and decoded by <see cref="ReadMetadata"/> when user code asks for them.
/// </summary>
internal readonly record struct ItemView(
    int KeyStart,
    int KeyLength,
    int ValueStart,
    int ValueLength,
    Format KeyFormat,
    Format ValueFormat,
    int ItemStart,
    int ItemLength)
{
    /// <summary>
    /// Reads the Item message of <paramref name="length"/> bytes at the start of
    /// <paramref name="itemAndAfter"/> (the bytes after it are only looked at, never read as the
    /// item's); <paramref name="offset"/> is where it starts in the buffer.
    /// </summary>
    public static ItemView Parse(ReadOnlySpan<byte> itemAndAfter, int length, int offset)
    {
        var item = itemAndAfter[..length];
        int keyStart = offset, keyLength = 0, valueStart = offset, valueLength = 0;
        Format keyFormat = 0, valueFormat = 0;
        var pos = 0;
        while (pos < item.Length)
        {
            var tag = ProtoWire.ReadTag(item, ref pos);
            switch (tag)
            {
                case (1 << 3) | ProtoWire.LengthDelimited:
                    keyStart = offset + ProtoWire.ReadLength(item, ref pos, out keyLength);
                    break;
                case (2 << 3) | ProtoWire.LengthDelimited:
                    valueStart = offset + ProtoWire.ReadLength(item, ref pos, out valueLength);
                    break;
                case (3 << 3) | ProtoWire.Varint:
                    keyFormat = (Format)(int)ProtoWire.ReadVarint(item, ref pos);
                    break;
                case (4 << 3) | ProtoWire.Varint:
                    valueFormat = (Format)(int)ProtoWire.ReadVarint(item, ref pos);
                    break;
                case (5 << 3) | ProtoWire.Varint:
                case (6 << 3) | ProtoWire.Varint:
                case (7 << 3) | ProtoWire.Varint:
                    // Checked here, so ReadMetadata cannot fail later; decoded only if asked for.
                    ProtoWire.SkipVarint(itemAndAfter, ref pos, length);
                    break;
                default:
                    ProtoWire.Skip(item, ref pos, tag);
                    break;
            }
        }

        return new ItemView(keyStart, keyLength, valueStart, valueLength, keyFormat, valueFormat, offset, item.Length);
    }

    /// <summary>
    /// Decodes the timestamp, partition and sequence of an item from its bytes (the slice
    /// <see cref="ItemStart"/>, <see cref="ItemLength"/> of the buffer it was parsed from); the last
    /// occurrence of a field wins, as in protobuf.
    /// </summary>
    public static void ReadMetadata(ReadOnlySpan<byte> item, out long timestampMs, out int partition, out long sequence)
    {
        timestampMs = 0;
        partition = 0;
        sequence = 0;
        var pos = 0;
        while (pos < item.Length)
        {
            var tag = ProtoWire.ReadTag(item, ref pos);
            switch (tag)
            {
                case (5 << 3) | ProtoWire.Varint:
                    timestampMs = (long)ProtoWire.ReadVarint(item, ref pos);
                    break;
                case (6 << 3) | ProtoWire.Varint:
                    partition = (int)ProtoWire.ReadVarint(item, ref pos);
                    break;
                case (7 << 3) | ProtoWire.Varint:
                    sequence = (long)ProtoWire.ReadVarint(item, ref pos);
                    break;
                default:
                    ProtoWire.Skip(item, ref pos, tag);
                    break;
            }
        }
    }
}

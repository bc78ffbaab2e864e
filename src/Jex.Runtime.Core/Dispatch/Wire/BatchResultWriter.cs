using System.Buffers;
using System.Runtime.CompilerServices;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;

namespace Jex.Runtime.Dispatch.Wire;

/// <summary>An output of the current item: key and value bytes with their formats.</summary>
internal readonly record struct PendingOutput(ReadOnlyMemory<byte> Key, Format KeyFormat, ReadOnlyMemory<byte> Value, Format ValueFormat)
{
    /// <summary>The encoded size of the Output message.</summary>
    public int Size =>
        (Key.Length > 0 ? ProtoWire.DelimitedSize(Key.Length) : 0)
        + (Value.Length > 0 ? ProtoWire.DelimitedSize(Value.Length) : 0)
        + ProtoWire.EnumSize((int)KeyFormat)
        + ProtoWire.EnumSize((int)ValueFormat);
}

/// <summary>
/// Encodes one <c>RuntimeMessage { result: BatchResult }</c> item by item into a pooled buffer,
/// with exactly the bytes Google.Protobuf would write for the same message (fields in number
/// order, defaults omitted), so peers cannot tell the difference. Room for the outer tag and
/// length is kept in front and filled in by <see cref="Finish"/>, when the size is known.
/// One writer per batch, used by the batch's own loop only.
/// </summary>
internal sealed class BatchResultWriter
{
    // RuntimeMessage.result: tag byte plus a length of at most 5 bytes (messages stay under 2 GiB).
    private const int HeaderRoom = 6;
    private static readonly byte ResultTag = ProtoWire.Tag(2, ProtoWire.LengthDelimited);
    private static readonly byte BatchIdTag = ProtoWire.Tag(1, ProtoWire.Varint);
    private static readonly byte ResultsTag = ProtoWire.Tag(2, ProtoWire.LengthDelimited);
    private static readonly byte ElapsedTag = ProtoWire.Tag(3, ProtoWire.Varint);
    private static readonly byte OkTag = ProtoWire.Tag(1, ProtoWire.LengthDelimited);
    private static readonly byte OutputTag = ProtoWire.Tag(1, ProtoWire.LengthDelimited);
    private static readonly byte KeyTag = ProtoWire.Tag(1, ProtoWire.LengthDelimited);
    private static readonly byte ValueTag = ProtoWire.Tag(2, ProtoWire.LengthDelimited);
    private static readonly byte KeyFormatTag = ProtoWire.Tag(3, ProtoWire.Varint);
    private static readonly byte ValueFormatTag = ProtoWire.Tag(4, ProtoWire.Varint);
    private static readonly byte CodeVersionTag = ProtoWire.Tag(5, ProtoWire.LengthDelimited);

    // Room kept free for the elapsed time field written by Finish.
    private const int TrailerRoom = 11;

    /// <summary>What an item gets instead of outputs that would push the result over the message limit.</summary>
    private static readonly byte[] TooLargeItem = Google.Protobuf.MessageExtensions.ToByteArray(new ItemResult
    {
        Error = new ItemError
        {
            Code = ItemError.Types.Code.ResultTooLarge,
            Type = "Jex.ResultTooLarge",
            Message = "the outputs exceed UserCode:MaxMessageBytes",
        },
    });

    private static readonly int TooLargeSize = ProtoWire.DelimitedSize(TooLargeItem.Length);

    private readonly long _limit;
    private readonly int _expectedItems;
    private byte[] _buffer;
    private int _pos;

    /// <param name="batchId">The batch answered.</param>
    /// <param name="sizeHint">Expected size of the result; the input batch's size is a good guess for a map.</param>
    /// <param name="maxMessageBytes">
    /// The largest message the transport carries. An item whose outputs (or error) would make the
    /// result larger gets a CODE_RESULT_TOO_LARGE error instead (<see cref="TooLargeCount"/>), with
    /// room kept for such an error for every item still to come.
    /// </param>
    /// <param name="expectedItems">The batch's item count, for that reserve.</param>
    public BatchResultWriter(ulong batchId, int sizeHint, int maxMessageBytes = int.MaxValue, int expectedItems = 0)
    {
        _limit = maxMessageBytes;
        _expectedItems = expectedItems;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, sizeHint + 64));
        _pos = HeaderRoom;
        if (batchId != 0)
        {
            _buffer[_pos++] = BatchIdTag;
            _pos = ProtoWire.WriteVarint(_buffer, _pos, batchId);
        }
    }

    /// <summary>The number of item results written so far.</summary>
    public int Count { get; private set; }

    /// <summary>Items that got CODE_RESULT_TOO_LARGE instead of their outputs or error.</summary>
    public int TooLargeCount { get; private set; }

    /// <summary>
    /// Whether <paramref name="more"/> bytes for the next item(s) keep the message under the limit,
    /// with room left for a too-large error for each item after them. 64-bit: no overflow.
    /// </summary>
    private bool Fits(long more, int items)
    {
        long after = Math.Max(0, _expectedItems - Count - items);
        return _pos + more + (after * TooLargeSize) + TrailerRoom <= _limit;
    }

    /// <summary>Adds CODE_RESULT_TOO_LARGE for <paramref name="times"/> items (also for a keyed batch's item found too large earlier).</summary>
    public void AddTooLarge(int times)
    {
        Ensure(checked(TooLargeSize * times));
        for (var i = 0; i < times; i++)
        {
            _pos = ProtoWire.WriteDelimited(_buffer, _pos, ResultsTag, TooLargeItem);
        }

        Count += times;
        TooLargeCount += times;
    }

    /// <summary>Adds <c>ItemResult { ok: Outputs { outputs } }</c>.</summary>
    public void AddOk(ReadOnlySpan<PendingOutput> outputs)
    {
        if (outputs.Length == 1)
        {
            AddOne(in outputs[0]);
            return;
        }

        long total = 0;
        foreach (ref readonly var output in outputs)
        {
            total += ProtoWire.DelimitedSize(output.Size);
        }

        // A flat-map can yield more than 2 GiB for one item: sizes are summed in 64 bits.
        var pos = BeginItem(total, out var buffer);
        if (pos < 0)
        {
            return;
        }

        _pos = WriteOk(buffer, pos, outputs, (int)total);
        Count++;
    }

    /// <summary>
    /// <see cref="AddOk"/> for a map's one output, with its size computed once rather than once for
    /// the limit check and again for the write; the same bytes.
    /// </summary>
    private void AddOne(in PendingOutput output)
    {
        var outputSize = output.Size;
        long total = ProtoWire.DelimitedSize(outputSize);
        var pos = BeginItem(total, out var buffer);
        if (pos < 0)
        {
            return;
        }

        buffer[pos++] = OkTag;
        pos = ProtoWire.WriteVarint(buffer, pos, (uint)total);
        _pos = WriteOutput(buffer, pos, output, outputSize);
        Count++;
    }

    /// <summary>
    /// Starts an ok item whose outputs take <paramref name="outputsSize"/> bytes: checks it against
    /// the limits and writes its results tag and length into <paramref name="buffer"/>. Returns the
    /// position after them, or -1 when the item does not fit (it is then CODE_RESULT_TOO_LARGE).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BeginItem(long outputsSize, out Span<byte> buffer)
    {
        if (outputsSize > int.MaxValue - 32 || !Fits(outputsSize + 12, 1))
        {
            AddTooLarge(1);
            buffer = default;
            return -1;
        }

        var itemSize = ProtoWire.DelimitedSize((int)outputsSize);
        Ensure(ProtoWire.DelimitedSize(itemSize));
        buffer = _buffer.AsSpan();
        var pos = _pos;
        buffer[pos++] = ResultsTag;
        return ProtoWire.WriteVarint(buffer, pos, (uint)itemSize);
    }

    /// <summary>
    /// Writes the body of <c>ItemResult { ok: Outputs { outputs } }</c> (its ok field and outputs, not
    /// its own length prefix) at <paramref name="pos"/>; returns the position after it. Shared with
    /// key-ordered batches, which keep each item's result apart until the batch answers.
    /// </summary>
    internal static int WriteOk(Span<byte> buffer, int pos, ReadOnlySpan<PendingOutput> outputs, int outputsSize)
    {
        buffer[pos++] = OkTag;
        pos = ProtoWire.WriteVarint(buffer, pos, (uint)outputsSize);
        foreach (ref readonly var output in outputs)
        {
            pos = WriteOutput(buffer, pos, output, output.Size);
        }

        return pos;
    }

    /// <summary>Writes one Outputs.outputs field (tag, length <paramref name="size"/>, the Output); returns the position after it.</summary>
    private static int WriteOutput(Span<byte> buffer, int pos, in PendingOutput output, int size)
    {
        buffer[pos++] = OutputTag;
        pos = ProtoWire.WriteVarint(buffer, pos, (uint)size);
        if (output.Key.Length > 0)
        {
            pos = ProtoWire.WriteDelimited(buffer, pos, KeyTag, output.Key.Span);
        }

        if (output.Value.Length > 0)
        {
            pos = ProtoWire.WriteDelimited(buffer, pos, ValueTag, output.Value.Span);
        }

        pos = ProtoWire.WriteEnum(buffer, pos, KeyFormatTag, (int)output.KeyFormat);
        return ProtoWire.WriteEnum(buffer, pos, ValueFormatTag, (int)output.ValueFormat);
    }

    /// <summary>Adds an ItemResult already encoded (errors, built with the generated classes), <paramref name="times"/> times.</summary>
    public void AddEncoded(ReadOnlySpan<byte> itemResult, int times = 1)
    {
        var size = ProtoWire.DelimitedSize(itemResult.Length);
        if (!Fits((long)size * times, times))
        {
            AddTooLarge(times);
            return;
        }

        Ensure(checked(size * times));
        for (var i = 0; i < times; i++)
        {
            _pos = ProtoWire.WriteDelimited(_buffer, _pos, ResultsTag, itemResult);
        }

        Count += times;
    }

    /// <summary>Ends the message and hands its bytes over; the writer must not be used afterwards.</summary>
    /// <param name="elapsedUs">BatchResult.elapsed_us; 0 is not written.</param>
    /// <param name="codeVersion">BatchResult.code_version as UTF-8 (encoded once per version, not per batch); empty is not written.</param>
    public RuntimeMessageBuffer Finish(ulong elapsedUs, ReadOnlySpan<byte> codeVersion = default)
    {
        if (elapsedUs != 0)
        {
            Ensure(11);
            _buffer[_pos++] = ElapsedTag;
            _pos = ProtoWire.WriteVarint(_buffer, _pos, elapsedUs);
        }

        if (codeVersion.Length > 0)
        {
            Ensure(ProtoWire.DelimitedSize(codeVersion.Length));
            _pos = ProtoWire.WriteDelimited(_buffer, _pos, CodeVersionTag, codeVersion);
        }

        var bodyLength = _pos - HeaderRoom;
        var start = HeaderRoom - 1 - ProtoWire.VarintSize((uint)bodyLength);
        _buffer[start] = ResultTag;
        _ = ProtoWire.WriteVarint(_buffer, start + 1, (uint)bodyLength);
        var message = new RuntimeMessageBuffer(_buffer, start, _pos - start);
        _buffer = [];
        return message;
    }

    /// <summary>Gives the buffer back without sending (the batch was abandoned).</summary>
    public void Discard()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void Ensure(int more)
    {
        if (_buffer.Length - _pos >= more)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_buffer.Length * 2, _pos + more)));
        _buffer.AsSpan(0, _pos).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}

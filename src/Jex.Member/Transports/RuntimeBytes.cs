using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;

namespace Jex.Member.Transports;

/// <summary>
/// One RuntimeMessage as received, undecoded, in a pooled buffer: for readers that scan results
/// themselves instead of building an object per item (<see cref="TryReadResult"/>). Whoever reads
/// it calls <see cref="Release"/>.
/// </summary>
internal sealed class RuntimeBytes
{
    private static readonly byte ResultTag = ProtoWire.Tag(2, ProtoWire.LengthDelimited);
    private byte[]? _buffer;

    private RuntimeBytes(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => (_buffer ?? throw new ObjectDisposedException(nameof(RuntimeBytes))).AsSpan(0, Length);

    public static RuntimeBytes Copy(ReadOnlySpan<byte> bytes) => new(PooledBuffer.Copy(bytes), bytes.Length);

    public static RuntimeBytes Copy(in ReadOnlySequence<byte> bytes) => new(PooledBuffer.Copy(bytes, out var length), length);

    public static RuntimeBytes From(RuntimeMessage message) => new(PooledBuffer.Encode(message, out var length), length);

    /// <summary>Decodes the message with the generated classes.</summary>
    public RuntimeMessage ToMessage() => RuntimeMessage.Parser.ParseFrom(Span);

    /// <summary>
    /// Decodes the message and returns the buffer to its pool. Bytes that are not a message end the
    /// session: the runtime and this member disagree on the protocol, and no retry fixes that.
    /// </summary>
    public RuntimeMessage ToMessageAndRelease()
    {
        try
        {
            return ToMessage();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SessionEndedException(StatusCode.Internal, $"The runtime sent a message that cannot be read: {e.Message}", e);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Reads a message that is only a BatchResult (what the runtime always sends) without building
    /// objects: its batch id, and per item whether it succeeded and how many outputs it has. False
    /// for anything else, which <see cref="ToMessage"/> reads.
    /// </summary>
    public bool TryReadResult(out ResultSummary summary)
    {
        summary = default;
        var span = Span;
        if (span.IsEmpty || span[0] != ResultTag)
        {
            return false;
        }

        var pos = 1;
        var start = ProtoWire.ReadLength(span, ref pos, out var length);
        if (pos != span.Length)
        {
            return false;
        }

        summary = ResultSummary.Read(span.Slice(start, length), start);
        return true;
    }

    public ReadOnlyMemory<byte> Slice(int start, int length) =>
        (_buffer ?? throw new ObjectDisposedException(nameof(RuntimeBytes))).AsMemory(start, length);

    public void Release()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            PooledBuffer.Return(buffer);
        }
    }
}

/// <summary>
/// What a BatchResult says, counted: items, items that failed, items whose output count was not
/// exactly one, and where the first item's first output value sits (offset into the message).
/// </summary>
internal readonly record struct ResultSummary(ulong BatchId, int Items, int Failed, int NotOneOutput, int FirstValueStart, int FirstValueLength)
{
    public static ResultSummary Read(ReadOnlySpan<byte> result, int offset)
    {
        ulong batchId = 0;
        int items = 0, failed = 0, notOne = 0, firstStart = -1, firstLength = 0;
        var pos = 0;
        while (pos < result.Length)
        {
            var tag = ProtoWire.ReadTag(result, ref pos);
            switch (tag)
            {
                case (1 << 3) | ProtoWire.Varint:
                    batchId = ProtoWire.ReadVarint(result, ref pos);
                    break;
                case (2 << 3) | ProtoWire.LengthDelimited:
                    var itemStart = ProtoWire.ReadLength(result, ref pos, out var itemLength);
                    var item = result.Slice(itemStart, itemLength);
                    var outputs = CountOutputs(item, out var ok, out var valueStart, out var valueLength);
                    if (!ok)
                    {
                        failed++;
                    }
                    else if (outputs != 1)
                    {
                        notOne++;
                    }

                    if (items == 0 && valueStart >= 0)
                    {
                        firstStart = offset + itemStart + valueStart;
                        firstLength = valueLength;
                    }

                    items++;
                    break;
                default:
                    ProtoWire.Skip(result, ref pos, tag);
                    break;
            }
        }

        return new ResultSummary(batchId, items, failed, notOne, firstStart, firstLength);
    }

    /// <summary>ItemResult: ok (1) = Outputs { repeated Output (1) }, error (2).</summary>
    private static int CountOutputs(ReadOnlySpan<byte> item, out bool ok, out int firstValueStart, out int firstValueLength)
    {
        ok = false;
        firstValueStart = -1;
        firstValueLength = 0;
        var count = 0;
        var pos = 0;
        while (pos < item.Length)
        {
            var tag = ProtoWire.ReadTag(item, ref pos);
            if (tag == ((1 << 3) | ProtoWire.LengthDelimited))
            {
                ok = true;
                var outputsStart = ProtoWire.ReadLength(item, ref pos, out var outputsLength);
                var outputs = item.Slice(outputsStart, outputsLength);
                count = 0;
                var p = 0;
                while (p < outputs.Length)
                {
                    var t = ProtoWire.ReadTag(outputs, ref p);
                    if (t != ((1 << 3) | ProtoWire.LengthDelimited))
                    {
                        ProtoWire.Skip(outputs, ref p, t);
                        continue;
                    }

                    var outputStart = ProtoWire.ReadLength(outputs, ref p, out var outputLength);
                    if (count == 0)
                    {
                        FindValue(outputs.Slice(outputStart, outputLength), out var vs, out firstValueLength);
                        firstValueStart = vs < 0 ? -1 : outputsStart + outputStart + vs;
                    }

                    count++;
                }
            }
            else
            {
                if (tag == ((2 << 3) | ProtoWire.LengthDelimited))
                {
                    ok = false;
                }

                ProtoWire.Skip(item, ref pos, tag);
            }
        }

        return count;
    }

    private static void FindValue(ReadOnlySpan<byte> output, out int start, out int length)
    {
        start = -1;
        length = 0;
        var pos = 0;
        while (pos < output.Length)
        {
            var tag = ProtoWire.ReadTag(output, ref pos);
            if (tag == ((2 << 3) | ProtoWire.LengthDelimited))
            {
                start = ProtoWire.ReadLength(output, ref pos, out length);
            }
            else
            {
                ProtoWire.Skip(output, ref pos, tag);
            }
        }
    }
}

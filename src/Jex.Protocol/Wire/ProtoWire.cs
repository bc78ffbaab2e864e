using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Jex.Protocol.Wire;

/// <summary>
/// The few protobuf wire-format primitives the hot paths (the runtime's dispatcher, the member's
/// result reader) read and write themselves. Google.Protobuf
/// has no API that hands out a bytes field as a slice of the input, or that writes a message
/// straight into a pooled buffer around bytes it does not own; everything else (Init, Ping,
/// errors, ...) still goes through the generated classes. Semantics follow the protobuf encoding
/// spec: varints of up to 10 bytes, unknown fields of wire types 0, 1, 2 and 5 skipped.
/// </summary>
public static class ProtoWire
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    /// <summary>Reads a varint at <paramref name="pos"/> and advances it; throws <see cref="MalformedMessageException"/> when truncated or over 10 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadVarint(ReadOnlySpan<byte> buffer, ref int pos)
    {
        if ((uint)pos < (uint)buffer.Length && buffer[pos] < 0x80)
        {
            return buffer[pos++];
        }

        return ReadVarintSlow(buffer, ref pos);
    }

    private static ulong ReadVarintSlow(ReadOnlySpan<byte> buffer, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if ((uint)pos >= (uint)buffer.Length)
            {
                throw new MalformedMessageException($"truncated varint at byte {pos}");
            }

            var b = buffer[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new MalformedMessageException($"varint longer than 10 bytes ending at byte {pos}");
    }

    /// <summary>
    /// Steps over a varint at <paramref name="pos"/> without decoding it, with the checks of
    /// <see cref="ReadVarint"/> (truncated or over 10 bytes throws), for fields read only on demand.
    /// </summary>
    public static void SkipVarint(ReadOnlySpan<byte> buffer, ref int pos) => SkipVarint(buffer, ref pos, buffer.Length);

    /// <summary>
    /// <see cref="SkipVarint(ReadOnlySpan{byte}, ref int)"/> for a varint that must end by
    /// <paramref name="end"/>: bytes of <paramref name="buffer"/> from there on may be looked at, so
    /// that a field near the end of a nested message is skipped as fast as any, but never count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SkipVarint(ReadOnlySpan<byte> buffer, ref int pos, int end)
    {
        if (pos >= 0 && buffer.Length - pos >= 8)
        {
            // Eight bytes at once: the varint ends at the first byte whose top bit is clear.
            var ends = ~BinaryPrimitives.ReadUInt64LittleEndian(buffer[pos..]) & 0x8080808080808080UL;
            var next = pos + (BitOperations.TrailingZeroCount(ends) >> 3) + 1;
            if (ends != 0 && next <= end)
            {
                pos = next;
                return;
            }
        }

        _ = ReadVarintSlow(buffer[..end], ref pos);
    }

    /// <summary>Reads a length prefix and checks the bytes it announces are there; returns the start of the payload.</summary>
    public static int ReadLength(ReadOnlySpan<byte> buffer, ref int pos, out int length)
    {
        var value = ReadVarint(buffer, ref pos);
        if (value > (ulong)(buffer.Length - pos))
        {
            throw new MalformedMessageException($"length {value} at byte {pos} runs past the end of the message ({buffer.Length - pos} bytes left)");
        }

        length = (int)value;
        var start = pos;
        pos += length;
        return start;
    }

    /// <summary>Skips the value of a field whose tag was just read.</summary>
    public static void Skip(ReadOnlySpan<byte> buffer, ref int pos, uint tag)
    {
        switch ((int)(tag & 7))
        {
            case Varint:
                _ = ReadVarint(buffer, ref pos);
                break;
            case Fixed64:
                Advance(buffer, ref pos, 8);
                break;
            case LengthDelimited:
                _ = ReadLength(buffer, ref pos, out _);
                break;
            case Fixed32:
                Advance(buffer, ref pos, 4);
                break;
            default:
                throw new MalformedMessageException($"field {tag >> 3} has unsupported wire type {tag & 7} at byte {pos}");
        }
    }

    /// <summary>Reads a tag; field number 0 is invalid in protobuf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadTag(ReadOnlySpan<byte> buffer, ref int pos)
    {
        var at = pos;
        var tag = ReadVarint(buffer, ref pos);
        if (tag >> 3 == 0 || tag > uint.MaxValue)
        {
            throw new MalformedMessageException($"invalid tag {tag} at byte {at}");
        }

        return (uint)tag;
    }

    private static void Advance(ReadOnlySpan<byte> buffer, ref int pos, int count)
    {
        if (buffer.Length - pos < count)
        {
            throw new MalformedMessageException($"truncated fixed-width field at byte {pos}");
        }

        pos += count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(ulong value) => value < 0x80 ? 1 : VarintSizeSlow(value);

    // Seven bits per byte: bytes = ceil((log2(value) + 1) / 7), as multiply and shift, no loop.
    private static int VarintSizeSlow(ulong value) => ((BitOperations.Log2(value) * 9) + 73) >> 6;

    /// <summary>Size of a length-delimited field with a one-byte tag: tag, length, payload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DelimitedSize(int length) => 1 + VarintSize((uint)length) + length;

    /// <summary>Size of an enum (int32) field with a one-byte tag; 0 is not written (proto3 default).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EnumSize(int value) => value == 0 ? 0 : 1 + VarintSize((ulong)(long)value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(Span<byte> buffer, int pos, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[pos++] = (byte)value;
        return pos;
    }

    /// <summary>Writes a length-delimited field with a one-byte tag (field numbers 1 to 15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteDelimited(Span<byte> buffer, int pos, byte tag, ReadOnlySpan<byte> payload)
    {
        buffer[pos++] = tag;
        pos = WriteVarint(buffer, pos, (uint)payload.Length);
        payload.CopyTo(buffer[pos..]);
        return pos + payload.Length;
    }

    /// <summary>Writes an enum (int32) field unless it is 0; negative values take 10 bytes, as protobuf specifies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteEnum(Span<byte> buffer, int pos, byte tag, int value)
    {
        if (value == 0)
        {
            return pos;
        }

        buffer[pos++] = tag;
        return WriteVarint(buffer, pos, (ulong)(long)value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Tag(int field, int wireType) => (byte)((field << 3) | wireType);
}

/// <summary>A member message whose bytes are not valid protobuf for its type; the message says where.</summary>
public sealed class MalformedMessageException(string message) : Exception(message);

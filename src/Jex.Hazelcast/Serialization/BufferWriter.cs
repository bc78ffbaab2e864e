using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Jex.Hazelcast.Serialization;

/// <summary>
/// A growable big-endian output over a pooled array, with back-patching (Compact writes its
/// lengths and offset tables after the data they describe). Reuse one instance with
/// <see cref="Reset"/> to write without allocating; <see cref="Dispose"/> returns the array.
/// </summary>
internal sealed class BufferWriter : IDisposable
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private byte[] _buffer;
    private int _position;

    public BufferWriter(int initialCapacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, initialCapacity));
    }

    public int Position => _position;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _position);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Reset() => _position = 0;

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _position = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Take(int count)
    {
        if (_buffer.Length - _position < count)
        {
            Grow(count);
        }

        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private void Grow(int count)
    {
        long wanted = Math.Max((long)_buffer.Length * 2, (long)_position + count);
        if (wanted > Array.MaxLength)
        {
            ThrowHelper.Invalid("the value is too large to encode");
        }

        var next = ArrayPool<byte>.Shared.Rent((int)wanted);
        _buffer.AsSpan(0, _position).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }

    public void WriteByte(byte value) => Take(1)[0] = value;

    public void WriteBoolean(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void WriteFloat32(float value) => WriteInt32(FloatBits(value));

    public void WriteFloat64(double value) => WriteInt64(DoubleBits(value));

    /// <summary>Java's <c>floatToIntBits</c>: every NaN is written as the canonical 0x7fc00000.</summary>
    public static int FloatBits(float value) => float.IsNaN(value) ? 0x7fc00000 : BitConverter.SingleToInt32Bits(value);

    /// <summary>Java's <c>doubleToLongBits</c>: every NaN is written as the canonical 0x7ff8000000000000.</summary>
    public static long DoubleBits(double value) => double.IsNaN(value) ? 0x7ff8000000000000L : BitConverter.DoubleToInt64Bits(value);

    public void WriteBytes(ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));

    public void WriteZeros(int count) => Take(count).Clear();

    /// <summary>Hazelcast's string: int32 UTF-8 byte count, then the bytes; null is length -1.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt32(-1);
            return;
        }

        // Invalid surrogates become U+FFFD, as in the Java and Node clients.
        int length = Utf8.GetByteCount(value);
        WriteInt32(length);
        Utf8.GetBytes(value, Take(length));
    }

    /// <summary>Hazelcast's byte array: int32 length, then the bytes; null is length -1.</summary>
    public void WriteByteArray(ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        WriteBytes(value);
    }

    public void PatchByte(int position, byte value) => _buffer[position] = value;

    public void PatchInt32(int position, int value) =>
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(position, 4), value);

    public void SetBit(int position, int bit, bool value)
    {
        if (value)
        {
            _buffer[position] |= (byte)(1 << bit);
        }
        else
        {
            _buffer[position] &= (byte)~(1 << bit);
        }
    }

    internal static string DecodeUtf8(ReadOnlySpan<byte> bytes) => Utf8.GetString(bytes);
}

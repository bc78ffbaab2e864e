using System.Buffers;
using Google.Protobuf;

namespace Jex.Protocol.Wire;

/// <summary>
/// Copies a message's bytes into a buffer rented from the shared pool: what both the runtime's
/// incoming messages and the member's incoming runtime messages are made of. The caller returns the
/// buffer with <see cref="Return"/> once nothing refers to it.
/// </summary>
public static class PooledBuffer
{
    public static byte[] Copy(ReadOnlySpan<byte> bytes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bytes.Length, 1));
        bytes.CopyTo(buffer);
        return buffer;
    }

    public static byte[] Copy(in ReadOnlySequence<byte> bytes, out int length)
    {
        length = checked((int)bytes.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        bytes.CopyTo(buffer);
        return buffer;
    }

    /// <summary>Encodes <paramref name="message"/> into a rented buffer.</summary>
    public static byte[] Encode(IMessage message, out int length)
    {
        length = message.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        message.WriteTo(buffer.AsSpan(0, length));
        return buffer;
    }

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}

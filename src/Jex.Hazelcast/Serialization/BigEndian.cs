using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Jex.Hazelcast.Serialization;

/// <summary>
/// Bounds-checked big-endian reads at absolute positions. Every read checks against the span,
/// so a corrupt offset or length becomes a <see cref="HazelcastCodecException"/>, never an
/// <see cref="IndexOutOfRangeException"/>.
/// </summary>
internal static class BigEndian
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Require(ReadOnlySpan<byte> data, int position, int count)
    {
        // Unsigned compare catches negative positions and counts in one branch.
        if ((uint)position > (uint)data.Length || (uint)count > (uint)(data.Length - position))
        {
            ThrowHelper.Truncated(position, count, data.Length);
        }
    }

    /// <summary>Checks that <paramref name="count"/> items of <paramref name="itemSize"/> bytes fit, without overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RequireItems(ReadOnlySpan<byte> data, int position, int count, int itemSize)
    {
        if (count < 0)
        {
            ThrowHelper.Invalid($"negative length {count} at offset {position}");
        }

        long needed = (long)count * itemSize;
        if ((uint)position > (uint)data.Length || needed > data.Length - position)
        {
            ThrowHelper.Truncated(position, (int)Math.Min(needed, int.MaxValue), data.Length);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte ReadByte(ReadOnlySpan<byte> data, int position)
    {
        Require(data, position, 1);
        return data[position];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short ReadInt16(ReadOnlySpan<byte> data, int position)
    {
        Require(data, position, 2);
        return BinaryPrimitives.ReadInt16BigEndian(data[position..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadInt32(ReadOnlySpan<byte> data, int position)
    {
        Require(data, position, 4);
        return BinaryPrimitives.ReadInt32BigEndian(data[position..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ReadInt64(ReadOnlySpan<byte> data, int position)
    {
        Require(data, position, 8);
        return BinaryPrimitives.ReadInt64BigEndian(data[position..]);
    }

    public static float ReadFloat32(ReadOnlySpan<byte> data, int position) =>
        BitConverter.Int32BitsToSingle(ReadInt32(data, position));

    public static double ReadFloat64(ReadOnlySpan<byte> data, int position) =>
        BitConverter.Int64BitsToDouble(ReadInt64(data, position));
}

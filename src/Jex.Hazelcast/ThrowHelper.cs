using System.Diagnostics.CodeAnalysis;

namespace Jex.Hazelcast;

/// <summary>Throws kept out of line so the hot read and write methods stay small and inlinable.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Truncated(int position, int needed, int length) =>
        throw new HazelcastCodecException(
            $"truncated data: needed {needed} byte(s) at offset {position}, but the data is {length} byte(s) long");

    [DoesNotReturn]
    public static T Truncated<T>(int position, int needed, int length)
    {
        Truncated(position, needed, length);
        return default;
    }

    [DoesNotReturn]
    public static void Invalid(string message) => throw new HazelcastCodecException(message);

    [DoesNotReturn]
    public static T Invalid<T>(string message) => throw new HazelcastCodecException(message);
}

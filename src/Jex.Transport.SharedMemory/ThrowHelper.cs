using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Jex.Transport.SharedMemory;

/// <summary>Throws kept out of the hot ring methods so those stay small and inlinable.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Violation(string ring, string code, long position, long length, long limit, string detail) =>
        throw new SharedMemoryFormatException(
            code, position, length, limit,
            $"{code}: shared-memory ring {ring} at position {position}: {detail} (length {length}, limit {limit}).");

    [DoesNotReturn]
    public static void MessageTooLarge(int length, int limit) =>
        throw new ArgumentOutOfRangeException(
            nameof(length), length, $"A shared-memory message is limited to {limit} bytes (the channel's maxMessageBytes).");

    [DoesNotReturn]
    public static void FrameTooLarge(int length, int limit) =>
        throw new ArgumentOutOfRangeException(
            nameof(length), length, $"A single claimed frame is limited to {limit} payload bytes; use Write for larger messages.");

    [DoesNotReturn]
    public static void Errno(string call, string path) =>
        throw new IOException($"{call} failed for '{path}': {Marshal.GetLastPInvokeErrorMessage()} (errno {Marshal.GetLastPInvokeError()}).");

    [DoesNotReturn]
    public static void NoClaim() =>
        throw new InvalidOperationException("Commit called without a pending Claim.");
}

/// <summary>
/// The mapped file or a ring in it does not follow docs/shared-memory.md. A ring violation carries one
/// of the <see cref="RingViolation"/> codes, where in the ring it was seen, and the length and limit at fault.
/// </summary>
internal sealed class SharedMemoryFormatException : IOException
{
    public SharedMemoryFormatException(string message) : base(message)
    {
        Code = RingViolation.Corrupted;
    }

    public SharedMemoryFormatException(string code, long position, long length, long limit, string message) : base(message)
    {
        Code = code;
        Position = position;
        Length = length;
        Limit = limit;
    }

    /// <summary>One of <see cref="RingViolation"/>.</summary>
    public string Code { get; }

    public long Position { get; }

    public long Length { get; }

    public long Limit { get; }
}

/// <summary>
/// Stable codes for what a peer wrote into a ring that the reader refuses (docs/shared-memory.md,
/// "Protocol violations"). Each closes the session slot the ring belongs to, and only that slot.
/// </summary>
internal static class RingViolation
{
    /// <summary>A frame length below the 8-byte header (zero excepted: nothing published), negative, or crossing the ring end.</summary>
    public const string FrameLength = "SHM_FRAME_LENGTH";

    /// <summary>A frame type that is not PADDING, WHOLE, FIRST, MIDDLE or LAST.</summary>
    public const string FrameType = "SHM_FRAME_TYPE";

    /// <summary>A padding frame that does not end exactly at the ring end.</summary>
    public const string Padding = "SHM_PADDING";

    /// <summary>Fragments out of order: MIDDLE or LAST without FIRST, or WHOLE or FIRST inside a fragmented message.</summary>
    public const string FragmentOrder = "SHM_FRAGMENT_ORDER";

    /// <summary>A message (whole, or reassembled so far) larger than the limit in force (max message bytes, or the smaller first-message limit).</summary>
    public const string MessageTooLarge = "SHM_MESSAGE_TOO_LARGE";

    /// <summary>The consumer's head, written by the peer, is behind the producer by more than the ring or ahead of it.</summary>
    public const string Head = "SHM_HEAD";

    /// <summary>Any other inconsistency of the mapped file.</summary>
    public const string Corrupted = "SHM_CORRUPTED";
}

/// <summary>The other side of the channel died, left, or stopped heartbeating.</summary>
internal sealed class SharedMemoryPeerLostException : IOException
{
    public SharedMemoryPeerLostException(string message) : base(message) { }
}

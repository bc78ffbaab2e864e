using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Jex.Transport.SharedMemory;

/// <summary>Throws kept out of the hot ring methods so those stay small and inlinable.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Corrupted(string ring, string detail) =>
        throw new SharedMemoryFormatException($"Shared-memory ring {ring} is corrupted: {detail}.");

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

/// <summary>The mapped file or a ring in it does not follow docs/shared-memory.md.</summary>
internal sealed class SharedMemoryFormatException : IOException
{
    public SharedMemoryFormatException(string message) : base(message) { }
}

/// <summary>The other side of the channel died, left, or stopped heartbeating.</summary>
internal sealed class SharedMemoryPeerLostException : IOException
{
    public SharedMemoryPeerLostException(string message) : base(message) { }
}

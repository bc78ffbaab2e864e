using System.Buffers;
using Google.Protobuf;
using Jex.Protocol.V1;

namespace Jex.Runtime.Dispatch.Wire;

/// <summary>
/// One encoded RuntimeMessage in a pooled buffer, ready for a transport to copy out. Results are
/// written straight into one by <see cref="BatchResultWriter"/>; the rare other messages are
/// encoded from the generated classes with <see cref="From"/>. The transport releases it once
/// the bytes are out.
/// </summary>
internal sealed class RuntimeMessageBuffer
{
    private byte[]? _buffer;

    internal RuntimeMessageBuffer(byte[] buffer, int offset, int length)
    {
        _buffer = buffer;
        Offset = offset;
        Length = length;
    }

    public int Offset { get; }

    /// <summary>
    /// Set on a BatchResult whose batch still holds an in-flight permit: the session frees the permit
    /// when the message goes to the transport, not when it is queued, so results waiting for a
    /// member that does not read stay within the in-flight limit.
    /// </summary>
    internal bool HoldsInFlight { get; set; }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => (_buffer ?? throw Released()).AsSpan(Offset, Length);

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw Released()).AsMemory(Offset, Length);

    public static RuntimeMessageBuffer From(RuntimeMessage message)
    {
        var length = message.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        message.WriteTo(buffer.AsSpan(0, length));
        return new RuntimeMessageBuffer(buffer, 0, length);
    }

    /// <summary>Decodes the message (tests, the in-process bench path, logging).</summary>
    public RuntimeMessage ToMessage() => RuntimeMessage.Parser.ParseFrom(Span);

    public void Release()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ObjectDisposedException Released() => new(nameof(RuntimeMessageBuffer), "the message was already sent and released");
}

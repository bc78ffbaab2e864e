using System.Buffers;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// The single writer of one ring. Frames are written type and payload first and published by
/// a release store of their length; <see cref="Flush"/> then wakes the consumer at most once
/// for however many frames were written, and only if it is asleep. Not thread-safe: one writer.
/// </summary>
internal sealed unsafe class RingProducer
{
    private readonly string _name;
    private readonly byte* _data;
    private readonly long* _tail;
    private readonly long* _head;
    private readonly int* _consumerWaiting;
    private readonly int* _producerWaiting;
    private readonly int _capacity;
    private readonly int _mask;
    private readonly Doorbell _dataBell;
    private readonly Doorbell _spaceBell;
    private readonly PeerWatch _peer;
    private readonly IdleStrategy _idle;
    private long _position;
    private long _headCache;
    private long _flushed;
    private long _claimPosition = -1;
    private int _claimLength;

    public RingProducer(string name, byte* data, byte* control, int capacity, int maxMessageBytes, Doorbell dataBell, Doorbell spaceBell, PeerWatch peer, IdleStrategy idle)
    {
        _name = name;
        _data = data;
        _tail = (long*)(control + L.RingTailOffset);
        _head = (long*)(control + L.RingHeadOffset);
        _consumerWaiting = (int*)(control + L.RingConsumerWaitingOffset);
        _producerWaiting = (int*)(control + L.RingProducerWaitingOffset);
        _capacity = capacity;
        _mask = capacity - 1;
        MaxMessageBytes = maxMessageBytes;
        MaxFramePayload = L.MaxFramePayload(capacity);
        _dataBell = dataBell;
        _spaceBell = spaceBell;
        _peer = peer;
        _idle = idle;
        // A writer starts where the reader is (0 on a fresh or recycled ring), not at the tail: the tail
        // is informational, and a member evicted from this slot may still be scribbling on it.
        _position = Volatile.Read(ref *_head);
        _flushed = _position;
        _headCache = _position;
    }

    public int Capacity => _capacity;

    /// <summary>Largest payload a single frame (and so <see cref="Claim"/>) carries.</summary>
    public int MaxFramePayload { get; }

    /// <summary>Largest message <see cref="Write"/> accepts; larger ones are refused, never truncated.</summary>
    public int MaxMessageBytes { get; }

    /// <summary>Next write position (bytes since the ring was created); the index is position &amp; (capacity - 1).</summary>
    internal long Position => _position;

    /// <summary>
    /// Writes a single-frame message if the ring has room now; false when full (nothing is written).
    /// Messages above <see cref="MaxFramePayload"/> always need <see cref="Write"/>.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxFramePayload)
        {
            ThrowHelper.FrameTooLarge(message.Length, MaxFramePayload);
        }

        var aligned = L.Align(L.FrameHeaderSize + (long)message.Length);
        var toEnd = _capacity - (_position & _mask);
        var required = aligned <= toEnd ? aligned : toEnd + aligned;
        if (_capacity - (_position - _headCache) < required)
        {
            RefreshHead();
            if (_capacity - (_position - _headCache) < required)
            {
                return false;
            }
        }

        WriteFrame(L.FrameWhole, message, CancellationToken.None);
        return true;
    }

    /// <summary>
    /// Reserves one whole-message frame of exactly <paramref name="length"/> payload bytes and returns
    /// its payload, in ring memory, for the caller to fill (zero copy). Blocks while the ring is full.
    /// </summary>
    public Span<byte> Claim(int length, CancellationToken cancellationToken)
    {
        if ((uint)length > (uint)MaxFramePayload)
        {
            ThrowHelper.FrameTooLarge(length, MaxFramePayload);
        }

        var position = Reserve(L.Align(L.FrameHeaderSize + (long)length), cancellationToken);
        var frame = _data + (position & _mask);
        *(int*)(frame + L.FrameTypeOffset) = L.FrameWhole;
        _claimPosition = position;
        _claimLength = length;
        return new Span<byte>(frame + L.FrameHeaderSize, length);
    }

    /// <summary>Publishes the frame reserved by <see cref="Claim"/>.</summary>
    public void Commit()
    {
        if (_claimPosition < 0)
        {
            ThrowHelper.NoClaim();
        }

        var frame = _data + (_claimPosition & _mask);
        Volatile.Write(ref *(int*)(frame + L.FrameLengthOffset), L.FrameHeaderSize + _claimLength);
        _position = _claimPosition + L.Align(L.FrameHeaderSize + (long)_claimLength);
        _claimPosition = -1;
    }

    /// <summary>
    /// Writes one message, as one frame or as fragments when it exceeds <see cref="MaxFramePayload"/>.
    /// Blocks while the ring is full (after flushing, so the consumer can drain). Does not flush at the end.
    /// </summary>
    public void Write(ReadOnlySpan<byte> message, CancellationToken cancellationToken)
    {
        if (message.Length > MaxMessageBytes)
        {
            ThrowHelper.MessageTooLarge(message.Length, MaxMessageBytes);
        }

        if (message.Length <= MaxFramePayload)
        {
            WriteFrame(L.FrameWhole, message, cancellationToken);
            return;
        }

        var type = L.FrameFirst;
        while (true)
        {
            var chunk = message[..Math.Min(message.Length, MaxFramePayload)];
            message = message[chunk.Length..];
            WriteFrame(message.IsEmpty ? L.FrameLast : type, chunk, cancellationToken);
            if (message.IsEmpty)
            {
                return;
            }

            type = L.FrameMiddle;
        }
    }

    /// <summary>
    /// Writes one message of <paramref name="length"/> bytes produced by <paramref name="serialize"/>:
    /// straight into the ring when it fits one frame (no copy), otherwise through a pooled buffer and
    /// fragments. Does not flush. Both sides' message writers use this, so the choice lives in one place.
    /// </summary>
    public void Write<TState>(int length, TState state, SpanAction<byte, TState> serialize, CancellationToken cancellationToken)
    {
        if (length <= MaxFramePayload)
        {
            serialize(Claim(length, cancellationToken), state);
            Commit();
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            serialize(buffer.AsSpan(0, length), state);
            Write(buffer.AsSpan(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Makes every frame written so far visible to a blocked consumer: one fence, and one doorbell
    /// write only when the consumer said it is going to sleep.
    /// </summary>
    public void Flush()
    {
        if (_position == _flushed)
        {
            return;
        }

        _flushed = _position;
        Volatile.Write(ref *_tail, _position);
        RingWait.WakeIfWaiting(_consumerWaiting, _dataBell);
    }

    private void WriteFrame(int type, ReadOnlySpan<byte> payload, CancellationToken cancellationToken)
    {
        // payload is at most MaxFramePayload (a quarter ring), so the length fits the frame's i32.
        var length = L.FrameHeaderSize + payload.Length;
        var position = Reserve(L.Align(length), cancellationToken);
        var frame = _data + (position & _mask);
        *(int*)(frame + L.FrameTypeOffset) = type;
        payload.CopyTo(new Span<byte>(frame + L.FrameHeaderSize, payload.Length));
        Volatile.Write(ref *(int*)(frame + L.FrameLengthOffset), length);
        _position = position + L.Align(length);
    }

    /// <summary>Waits for room for an aligned frame, writing a padding frame first when it would cross the end.</summary>
    private long Reserve(long aligned, CancellationToken cancellationToken)
    {
        var index = _position & _mask;
        var toEnd = _capacity - index;
        var required = aligned <= toEnd ? aligned : toEnd + aligned;
        if (_capacity - (_position - _headCache) < required)
        {
            RefreshHead();
            if (_capacity - (_position - _headCache) < required)
            {
                WaitForSpace(required, cancellationToken);
            }
        }

        if (aligned > toEnd)
        {
            var pad = _data + index;
            *(int*)(pad + L.FrameTypeOffset) = L.FramePadding;
            Volatile.Write(ref *(int*)(pad + L.FrameLengthOffset), (int)toEnd);
            _position += toEnd;
        }

        return _position;
    }

    private void WaitForSpace(long required, CancellationToken cancellationToken)
    {
        _peer.ThrowIfLost();
        Flush();
        var condition = new SpaceAvailable(_head, _position, _capacity, required);
        RingWait.Until(ref condition, _producerWaiting, _spaceBell, _idle, _peer, cancellationToken);
        RefreshHead();
    }

    /// <summary>
    /// Reads the consumer's head, which the peer writes, and refuses one that could not be: ahead of what
    /// was written, or more than a ring behind it. Trusting it would let this side overwrite unread frames.
    /// </summary>
    private void RefreshHead()
    {
        var head = Volatile.Read(ref *_head);
        if ((ulong)(_position - head) > (ulong)_capacity)
        {
            ThrowHelper.Violation(_name, RingViolation.Head, _position, _position - head, _capacity, $"the consumer's head {head} is not within one ring behind the producer");
        }

        _headCache = head;
    }

    public override string ToString() => _name;

    private readonly struct SpaceAvailable(long* head, long position, int capacity, long required) : IWaitCondition
    {
        public bool IsMet() => capacity - (position - Volatile.Read(ref *head)) >= required;
    }
}

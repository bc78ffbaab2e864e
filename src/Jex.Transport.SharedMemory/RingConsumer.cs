using System.Buffers;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>Receives one complete message. The span is only valid during the call.</summary>
internal delegate void MessageHandler(ReadOnlySpan<byte> message);

/// <summary>
/// The single reader of one ring. A frame exists once its length reads non-zero with acquire
/// semantics; consumed bytes are zeroed before the head is released, so every byte ahead of the
/// producer reads zero and a half-written frame is never seen. Not thread-safe: one reader.
/// </summary>
internal sealed unsafe class RingConsumer
{
    private readonly string _name;
    private readonly byte* _data;
    private readonly long* _head;
    private readonly int* _consumerWaiting;
    private readonly int* _producerWaiting;
    private readonly int _capacity;
    private readonly int _mask;
    private readonly int _maxMessage;
    private readonly Doorbell _dataBell;
    private readonly Doorbell _spaceBell;
    private readonly PeerWatch _peer;
    private readonly IdleStrategy _idle;
    private long _position;
    private long _released;
    private byte[]? _assembly;
    private int _assembled = -1;
    private int _messageLimit;

    public RingConsumer(string name, byte* data, byte* control, int capacity, int maxMessageBytes, Doorbell dataBell, Doorbell spaceBell, PeerWatch peer, IdleStrategy idle)
    {
        _name = name;
        _data = data;
        _head = (long*)(control + L.RingHeadOffset);
        _consumerWaiting = (int*)(control + L.RingConsumerWaitingOffset);
        _producerWaiting = (int*)(control + L.RingProducerWaitingOffset);
        _capacity = capacity;
        _mask = capacity - 1;
        _maxMessage = maxMessageBytes;
        _messageLimit = maxMessageBytes;
        _dataBell = dataBell;
        _spaceBell = spaceBell;
        _peer = peer;
        _idle = idle;
        _position = Volatile.Read(ref *_head);
        _released = _position;
    }

    /// <summary>
    /// The largest message accepted now: max message bytes unless lowered, e.g. to a small limit until a
    /// session's first message (Init) arrived, so that a peer cannot make the reader buffer megabytes
    /// before it said who it is. Values outside 1..max message bytes mean max message bytes.
    /// </summary>
    public int MessageLimit
    {
        get => _messageLimit;
        set => _messageLimit = value > 0 && value < _maxMessage ? value : _maxMessage;
    }

    /// <summary>True when at least one frame (possibly padding or a fragment) is published.</summary>
    public bool HasData => Volatile.Read(ref *(int*)(_data + (_position & _mask))) != 0;

    /// <summary>
    /// Delivers every complete message available now, up to <paramref name="maxMessages"/>, and
    /// returns how many. Consumed space is handed back to the producer every quarter ring and at
    /// the end, waking it only if it sleeps on a full ring.
    /// </summary>
    public int Drain(MessageHandler handler, int maxMessages = int.MaxValue)
    {
        var delivered = 0;
        try
        {
            while (delivered < maxMessages)
            {
                var index = (int)(_position & _mask);
                var frame = _data + index;
                var length = Volatile.Read(ref *(int*)(frame + L.FrameLengthOffset));
                if (length == 0)
                {
                    break;
                }

                // The peer wrote this length: nothing is read from the frame, and the position does not
                // move, before it is known to lie inside the ring. 64-bit, so int.MaxValue cannot wrap.
                var toEnd = _capacity - index;
                var aligned = L.Align(length);
                if (length < L.FrameHeaderSize || aligned > toEnd)
                {
                    ThrowHelper.Violation(_name, RingViolation.FrameLength, _position, length, toEnd,
                        length < L.FrameHeaderSize ? "a frame is shorter than its 8-byte header" : "a frame runs past the end of the ring");
                }

                var type = *(int*)(frame + L.FrameTypeOffset);
                var payload = new ReadOnlySpan<byte>(frame + L.FrameHeaderSize, length - L.FrameHeaderSize);
                var at = _position;
                _position += aligned;
                switch (type)
                {
                    case L.FramePadding:
                        if (length != toEnd)
                        {
                            ThrowHelper.Violation(_name, RingViolation.Padding, at, length, toEnd, "a padding frame does not reach the ring end");
                        }

                        break;
                    case L.FrameWhole:
                        if (_assembled >= 0)
                        {
                            ThrowHelper.Violation(_name, RingViolation.FragmentOrder, at, length, _messageLimit, "a whole message interrupts a fragmented one");
                        }

                        if (payload.Length > _messageLimit)
                        {
                            ThrowHelper.Violation(_name, RingViolation.MessageTooLarge, at, payload.Length, _messageLimit, "a message exceeds the limit");
                        }

                        delivered++;
                        handler(payload);
                        break;
                    case L.FrameFirst:
                        if (_assembled >= 0)
                        {
                            ThrowHelper.Violation(_name, RingViolation.FragmentOrder, at, length, _messageLimit, "a first fragment interrupts a fragmented message");
                        }

                        _assembled = 0;
                        Append(payload);
                        break;
                    case L.FrameMiddle:
                    case L.FrameLast:
                        if (_assembled < 0)
                        {
                            ThrowHelper.Violation(_name, RingViolation.FragmentOrder, at, length, _messageLimit, "a fragment arrived without a first fragment");
                        }

                        Append(payload);
                        if (type == L.FrameLast)
                        {
                            delivered++;
                            DeliverAssembled(handler);
                        }

                        break;
                    default:
                        ThrowHelper.Violation(_name, RingViolation.FrameType, at, length, toEnd, $"unknown frame type {type}");
                        break;
                }

                if (_position - _released >= _capacity / 4)
                {
                    Release();
                }
            }
        }
        finally
        {
            Release();
        }

        return delivered;
    }

    /// <summary>Returns when a frame is available; throws when the peer is lost or on cancellation.</summary>
    public void WaitForData(CancellationToken cancellationToken)
    {
        if (HasData)
        {
            return;
        }

        var condition = new FrameAvailable(this);
        RingWait.Until(ref condition, _consumerWaiting, _dataBell, _idle, _peer, cancellationToken);
    }

    /// <summary>Drops a half-reassembled message, e.g. when the peer died mid-message.</summary>
    public void Reset()
    {
        if (_assembly is not null)
        {
            ArrayPool<byte>.Shared.Return(_assembly);
            _assembly = null;
        }

        _assembled = -1;
    }

    private void Append(ReadOnlySpan<byte> fragment)
    {
        // Both terms are at most the limit (an int), so the sum cannot overflow a long.
        var needed = (long)_assembled + fragment.Length;
        if (needed > _messageLimit)
        {
            ThrowHelper.Violation(_name, RingViolation.MessageTooLarge, _position - L.FrameHeaderSize - fragment.Length, needed, _messageLimit, "a fragmented message exceeds the limit");
        }

        if (_assembly is null || _assembly.Length < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Max(needed, Math.Min(_messageLimit, needed * 2)));
            _assembly?.AsSpan(0, _assembled).CopyTo(larger);
            if (_assembly is not null)
            {
                ArrayPool<byte>.Shared.Return(_assembly);
            }

            _assembly = larger;
        }

        fragment.CopyTo(_assembly.AsSpan(_assembled));
        _assembled = (int)needed;
    }

    private void DeliverAssembled(MessageHandler handler)
    {
        try
        {
            handler(_assembly.AsSpan(0, _assembled));
        }
        finally
        {
            Reset();
        }
    }

    private void Release()
    {
        var length = _position - _released;
        if (length == 0)
        {
            return;
        }

        // Both ranges stay inside the ring whatever the peer wrote: validated frames never cross the
        // end, and the clamp keeps a hostile sequence of them from zeroing past it.
        var start = (int)(_released & _mask);
        var first = (int)Math.Min(length, _capacity - start);
        new Span<byte>(_data + start, first).Clear();
        if (length > first)
        {
            new Span<byte>(_data, (int)Math.Min(length - first, _capacity)).Clear();
        }

        _released = _position;
        Volatile.Write(ref *_head, _position);
        RingWait.WakeIfWaiting(_producerWaiting, _spaceBell);
    }

    public override string ToString() => _name;

    private readonly struct FrameAvailable(RingConsumer ring) : IWaitCondition
    {
        public bool IsMet() => ring.HasData;
    }
}

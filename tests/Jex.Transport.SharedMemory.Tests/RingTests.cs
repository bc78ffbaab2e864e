using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory.Tests;

public sealed class RingTests
{
    private static List<byte[]> DrainAll(RingConsumer consumer)
    {
        var received = new List<byte[]>();
        consumer.Drain(m => received.Add(m.ToArray()));
        return received;
    }

    [Fact]
    public void Drain_WhenRingIsEmpty_DeliversNothingAndWaitTimesOut()
    {
        using var pair = new ChannelPair();
        Assert.False(pair.Consumer.HasData);
        Assert.Equal(0, pair.Consumer.Drain(_ => Assert.Fail("no message expected")));

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;
        Assert.ThrowsAny<OperationCanceledException>(() => pair.Consumer.WaitForData(cts.Token));
        // Not before the cancellation; the upper bound only has to catch a wait that ignores it.
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Write_AtEveryAlignmentOfTheWritePosition_WrapsWithPaddingAndRoundTrips()
    {
        using var pair = new ChannelPair(capacity: 4096);
        var capacity = pair.Producer.Capacity;
        long seq = 0;
        var wrapped = 0;
        for (var index = 0; index < capacity; index += L.FrameAlignment)
        {
            // Walk the write position to this index with empty (8-byte) messages.
            while ((pair.Producer.Position & (capacity - 1)) != index)
            {
                pair.Producer.Write([], CancellationToken.None);
                pair.Producer.Flush();
                Assert.Single(DrainAll(pair.Consumer));
            }

            // Every payload residue mod 8, sized so the frame cannot fit before the end when possible.
            for (var residue = 0; residue < 8; residue++)
            {
                var length = Math.Min(capacity - index - L.FrameHeaderSize + 1, pair.Producer.MaxFramePayload - 8) + residue;
                length = Math.Max(length, residue);
                var before = pair.Producer.Position;
                var message = Payloads.Make(length, ++seq);
                pair.Producer.Write(message, CancellationToken.None);
                pair.Producer.Flush();
                if (((before & (capacity - 1)) + L.Align(L.FrameHeaderSize + length)) > capacity)
                {
                    wrapped++;
                }

                var received = DrainAll(pair.Consumer);
                Assert.Single(received);
                Assert.Equal(message, received[0]);
                Assert.Equal(0L, pair.Producer.Position & (L.FrameAlignment - 1));
            }
        }

        Assert.True(wrapped >= 100, $"only {wrapped} writes crossed the ring end");
    }

    [Fact]
    public void TryWrite_WhenRingIsFull_RefusesUntilTheConsumerDrains()
    {
        using var pair = new ChannelPair(capacity: 4096);
        var message = Payloads.Make(100, 1);
        var written = 0;
        while (pair.Producer.TryWrite(message))
        {
            written++;
        }

        pair.Producer.Flush();
        // 112-byte frames: 36 fit in 4096 bytes, and nothing was overwritten.
        Assert.Equal(4096 / 112, written);
        Assert.False(pair.Producer.TryWrite(message));

        var received = DrainAll(pair.Consumer);
        Assert.Equal(written, received.Count);
        Assert.All(received, m => Assert.Equal(message, m));
        Assert.True(pair.Producer.TryWrite(message));
    }

    [Fact]
    public async Task Write_WhenRingIsFull_BlocksAndResumesWhenTheConsumerFreesSpace()
    {
        using var pair = new ChannelPair(capacity: 4096);
        var message = Payloads.Make(500, 7);
        while (pair.Producer.TryWrite(message))
        {
        }

        var writer = Task.Factory.StartNew(
            () => { pair.Producer.Write(message, CancellationToken.None); pair.Producer.Flush(); },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.Delay(300);
        Assert.False(writer.IsCompleted, "the writer must wait while the ring is full");

        var count = pair.Consumer.Drain(m => Assert.True(m.SequenceEqual(message)));
        await writer.WaitAsync(TimeSpan.FromSeconds(5));
        count += pair.Consumer.Drain(m => Assert.True(m.SequenceEqual(message)));
        Assert.Equal(4096 / 512 + 1, count);
    }

    [Fact]
    public async Task Write_MessageFourTimesTheRing_IsFragmentedAndReassembled()
    {
        using var pair = new ChannelPair(capacity: 4096);
        var message = Payloads.Make(4 * 4096 + 123, 42);
        byte[]? received = null;
        var reader = Task.Factory.StartNew(
            () =>
            {
                while (received is null)
                {
                    pair.Consumer.WaitForData(CancellationToken.None);
                    pair.Consumer.Drain(m => received = m.ToArray());
                }
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        pair.Producer.Write(message, CancellationToken.None);
        pair.Producer.Flush();
        await reader.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(message, received);
    }

    [Fact]
    public void Write_MessageAboveMaxMessageBytes_IsRefusedNamingTheLimit()
    {
        using var pair = new ChannelPair(capacity: 4096, maxMessageBytes: 10_000);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => pair.Producer.Write(new byte[10_001], CancellationToken.None));
        Assert.Contains("10000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, pair.Consumer.Drain(_ => { }));
    }

    [Fact]
    public unsafe void Drain_WhenAFrameIsWrittenButItsLengthIsNot_SeesNothing()
    {
        using var pair = new ChannelPair(capacity: 4096);
        // A producer that died mid-frame: type and payload written, length (the publish) never.
        var data = pair.Member.Slot.DataPointer(0);
        *(int*)(data + L.FrameTypeOffset) = L.FrameWhole;
        new Span<byte>(data + L.FrameHeaderSize, 64).Fill(0xAB);
        Assert.False(pair.Consumer.HasData);
        Assert.Equal(0, pair.Consumer.Drain(_ => Assert.Fail("a torn frame must not be delivered")));
    }

    [Theory]
    [InlineData(4, L.FrameWhole, RingViolation.FrameLength, "length 4")]
    [InlineData(8192, L.FrameWhole, RingViolation.FrameLength, "length 8192")]
    [InlineData(16, 99, RingViolation.FrameType, "unknown frame type 99")]
    [InlineData(16, L.FrameMiddle, RingViolation.FragmentOrder, "without a first fragment")]
    [InlineData(16, L.FramePadding, RingViolation.Padding, "does not reach the ring end")]
    public unsafe void Drain_WhenAFrameHeaderIsDamaged_ThrowsNamingTheRingTheCodeAndTheFault(int length, int type, string code, string expected)
    {
        using var pair = new ChannelPair(capacity: 4096);
        var data = pair.Member.Slot.DataPointer(0);
        *(int*)(data + L.FrameTypeOffset) = type;
        Volatile.Write(ref *(int*)data, length);
        var error = Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => { }));
        Assert.Contains("member-to-runtime", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(code, error.Code);
        Assert.StartsWith(code + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rings_UnderConcurrentProducerAndConsumer_DeliverMillionsOfFramesInOrderWithMatchingChecksums()
    {
        using var pair = new ChannelPair(capacity: 1 << 16);
        const int Frames = 3_000_000;
        ulong sent = 0;
        ulong receivedSum = 0;
        long receivedCount = 0;
        var producer = Task.Factory.StartNew(
            () =>
            {
                Span<byte> buffer = stackalloc byte[256];
                for (var seq = 0; seq < Frames; seq++)
                {
                    // Lengths 8..71 cover every alignment residue; the payload starts with its sequence number.
                    var length = 8 + (seq * 7 % 64);
                    var payload = buffer[..length];
                    BitConverter.TryWriteBytes(payload, (long)seq);
                    Payloads.Fill(payload[8..], seq);
                    sent += Checksum(payload);
                    pair.Producer.Write(payload, CancellationToken.None);
                    if ((seq & 31) == 31)
                    {
                        pair.Producer.Flush();
                    }
                }

                pair.Producer.Flush();
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var consumer = Task.Factory.StartNew(
            () =>
            {
                while (receivedCount < Frames)
                {
                    pair.Consumer.WaitForData(CancellationToken.None);
                    pair.Consumer.Drain(m =>
                    {
                        var seq = BitConverter.ToInt64(m);
                        if (seq != receivedCount || m.Length != 8 + (seq * 7 % 64))
                        {
                            throw new InvalidOperationException($"frame {receivedCount} arrived as seq {seq}, length {m.Length}");
                        }

                        receivedSum += Checksum(m);
                        receivedCount++;
                    });
                }
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await Task.WhenAll(producer, consumer).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Frames, receivedCount);
        Assert.Equal(sent, receivedSum);
    }

    private static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}

using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory.Tests;

/// <summary>
/// A peer writes the ring, so every length, type and head in it is untrusted. These pin the 64-bit
/// checks at the edges: lengths near int.MaxValue, negative ones, frames that end exactly at or
/// just past the ring end, positions past 2^31 and 2^32, and a consumer head that cannot be right.
/// </summary>
public sealed class RingViolationTests
{
    [Theory]
    [InlineData(0, 0L)]
    [InlineData(1, 8L)]
    [InlineData(8, 8L)]
    [InlineData(9, 16L)]
    [InlineData(int.MaxValue - 8, 2147483640L)]
    [InlineData(int.MaxValue, 2147483648L)]
    public void Align_InSixtyFourBits_NeverWrapsNegative(int length, long expected) => Assert.Equal(expected, L.Align(length));

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue - 7)]
    [InlineData(4096 + 8)]
    [InlineData(4096 - 8 + 1)]
    [InlineData(-1)]
    [InlineData(-8)]
    [InlineData(int.MinValue)]
    [InlineData(7)]
    public unsafe void Drain_AFrameLengthOutsideTheRing_IsRefusedWithTheCodeBeforeAnythingIsReadOrDelivered(int length)
    {
        using var pair = new ChannelPair(capacity: 4096);
        // A real frame first, so the bad one sits at index 8, where 4096 - 8 bytes remain.
        pair.Producer.Write([], CancellationToken.None);
        pair.Producer.Flush();
        var data = pair.Member.Slot.DataPointer(0);
        *(int*)(data + 8 + L.FrameTypeOffset) = L.FrameWhole;
        Volatile.Write(ref *(int*)(data + 8), length);

        var delivered = 0;
        var error = Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => delivered++));
        Assert.Equal(1, delivered);
        Assert.Equal(RingViolation.FrameLength, error.Code);
        Assert.Equal(length, error.Length);
        Assert.Equal(4096 - 8, error.Limit);
        Assert.Equal(8, error.Position);
        Assert.Contains($"length {length}, limit {4096 - 8}", error.Message, StringComparison.Ordinal);
        // Refused, not skipped: the reader does not move past the bad frame, so a retry fails the same way.
        Assert.Equal(RingViolation.FrameLength, Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => { })).Code);
    }

    [Fact]
    public unsafe void Drain_AFrameEndingExactlyAtTheRingEnd_IsDelivered_AndOneAlignmentMoreIsRefused()
    {
        using var pair = new ChannelPair(capacity: 4096);
        var data = pair.Member.Slot.DataPointer(0);
        *(int*)(data + L.FrameTypeOffset) = L.FrameWhole;
        Volatile.Write(ref *(int*)data, 4096);
        var lengths = new List<int>();
        Assert.Equal(1, pair.Consumer.Drain(m => lengths.Add(m.Length)));
        Assert.Equal([4096 - 8], lengths);

        // The ring has wrapped: index 0 again, at position 4096. One byte more than the ring is refused.
        *(int*)(data + L.FrameTypeOffset) = L.FrameWhole;
        Volatile.Write(ref *(int*)data, 4097);
        var error = Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => { }));
        Assert.Equal(RingViolation.FrameLength, error.Code);
        Assert.Equal(4096, error.Position);
    }

    [Fact]
    public void Drain_AWholeMessageAboveTheMessageLimit_IsRefused_AndRestoringTheLimitAcceptsItAgain()
    {
        using var pair = new ChannelPair(capacity: 4096, maxMessageBytes: 10_000);
        pair.Consumer.MessageLimit = 100;
        Assert.Equal(100, pair.Consumer.MessageLimit);
        pair.Producer.Write(new byte[101], CancellationToken.None);
        pair.Producer.Flush();
        var error = Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => Assert.Fail("over the limit")));
        Assert.Equal(RingViolation.MessageTooLarge, error.Code);
        Assert.Equal(101, error.Length);
        Assert.Equal(100, error.Limit);

        using var next = new ChannelPair(capacity: 4096, maxMessageBytes: 10_000);
        next.Consumer.MessageLimit = 100;
        next.Consumer.MessageLimit = 0;
        Assert.Equal(10_000, next.Consumer.MessageLimit);
        next.Producer.Write(new byte[101], CancellationToken.None);
        next.Producer.Flush();
        Assert.Equal(1, next.Consumer.Drain(_ => { }));
    }

    [Fact]
    public async Task Drain_AFragmentedMessageGrowingPastTheLimit_IsRefusedBeforeBufferingMore()
    {
        using var pair = new ChannelPair(capacity: 4096, maxMessageBytes: 1 << 20);
        pair.Consumer.MessageLimit = 2000;
        // 1016-byte fragments: the second takes the reassembly to 2032 > 2000.
        var writer = Task.Run(() =>
        {
            pair.Producer.Write(new byte[3000], CancellationToken.None);
            pair.Producer.Flush();
        });
        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        var error = Assert.Throws<SharedMemoryFormatException>(() => pair.Consumer.Drain(_ => Assert.Fail("over the limit")));
        Assert.Equal(RingViolation.MessageTooLarge, error.Code);
        Assert.Equal(2 * pair.Producer.MaxFramePayload, error.Length);
        Assert.Equal(2000, error.Limit);
    }

    [Theory]
    [InlineData(-1_000_000L)]
    [InlineData(1L << 40)]
    public unsafe void Write_WhenThePeerWroteAnImpossibleHead_IsRefusedWithTheCodeInsteadOfOverwritingFrames(long head)
    {
        using var pair = new ChannelPair(capacity: 4096);
        var control = (byte*)pair.Member.Slot.DataPointer(0) - L.SlotHeaderSize + L.SlotRing0ControlOffset;
        Volatile.Write(ref *(long*)(control + L.RingHeadOffset), head);
        var message = new byte[1000];
        // The producer trusts its cached head until the ring looks full, then reads the peer's.
        var error = Assert.Throws<SharedMemoryFormatException>(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                _ = pair.Producer.TryWrite(message);
            }
        });
        Assert.Equal(RingViolation.Head, error.Code);
        Assert.Equal(4096, error.Limit);
    }

    [Theory]
    [InlineData(int.MaxValue - 4096L)]
    [InlineData(uint.MaxValue - 4096L)]
    [InlineData(long.MaxValue / 2)]
    public unsafe void Rings_WhosePositionsCross2To31Or2To32_KeepWrappingAndDeliverInOrder(long start)
    {
        using var pair = new ChannelPair(capacity: 4096);
        start &= ~7L;
        var slot = pair.Member.Slot;
        var data = slot.DataPointer(0);
        var control = data - L.SlotHeaderSize + L.SlotRing0ControlOffset;
        Volatile.Write(ref *(long*)(control + L.RingTailOffset), start);
        Volatile.Write(ref *(long*)(control + L.RingHeadOffset), start);
        var path = pair.Path;
        using var dataBell = new Doorbell(L.DataFifo(path, 0, 0));
        using var spaceBell = new Doorbell(L.SpaceFifo(path, 0, 0));
        var peer = new PeerWatch();
        var producer = new RingProducer("test producer", data, control, 4096, 1 << 20, dataBell, spaceBell, peer, IdleStrategy.Default);
        var consumer = new RingConsumer("test consumer", data, control, 4096, 1 << 20, dataBell, spaceBell, peer, IdleStrategy.Default);
        Assert.Equal(start, producer.Position);

        for (var seq = 0; seq < 200; seq++)
        {
            var message = Payloads.Make(1 + (seq * 37 % 1000), seq);
            producer.Write(message, CancellationToken.None);
            producer.Flush();
            byte[]? received = null;
            Assert.Equal(1, consumer.Drain(m => received = m.ToArray()));
            Assert.Equal(message, received);
        }

        Assert.True(producer.Position > start + (8 * 4096), "the test should have wrapped the ring several times");
    }
}

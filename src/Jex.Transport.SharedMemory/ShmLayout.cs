namespace Jex.Transport.SharedMemory;

/// <summary>
/// Byte offsets of the mapped file, exactly as docs/shared-memory.md draws them. All integers are
/// little-endian and naturally aligned. The file is a 4 KiB header page (format, runtime side block)
/// followed by N session slots; each slot is a 4 KiB control page (member side block, two ring
/// control blocks) and two rings: ring 0 carries member-to-runtime messages, ring 1 runtime-to-member.
/// Every field written by one side and read by the other sits on its own 128-byte block, so the
/// adjacent-line prefetcher does not pair a producer's line with a consumer's.
/// </summary>
internal static class ShmLayout
{
    /// <summary>ASCII "JEXRING" followed by a zero byte.</summary>
    public static ReadOnlySpan<byte> Magic => "JEXRING\0"u8;

    public const int LayoutVersion = 2;
    public const int HeaderSize = 4096;
    public const int LineSize = 128;

    // Header page (written once by the creator, then read-only).
    public const int MagicOffset = 0;            // 8 bytes
    public const int VersionOffset = 8;          // u32
    public const int HeaderSizeOffset = 12;      // u32
    public const int Ring0CapacityOffset = 16;   // u32, member -> runtime
    public const int Ring1CapacityOffset = 20;   // u32, runtime -> member
    public const int MaxMessageOffset = 24;      // u32
    public const int StateOffset = 28;           // u32, written last with release: 1 = ready
    public const int FileSizeOffset = 32;        // u64
    public const int SlotCountOffset = 40;       // u32
    public const int SlotSizeOffset = 48;        // u64 = SlotHeaderSize + C0 + C1

    public const int StateReady = 1;

    /// <summary>The runtime's side block, in the header page.</summary>
    public const int CreatorSideOffset = 128;

    // Side blocks (the runtime's in the header page, each slot's member block in its slot page).
    public const int SidePidOffset = 0;          // i32; in a slot, 0 = free (the claim word)
    public const int SideStateOffset = 4;        // i32, see SideState*
    public const int SideHeartbeatOffset = 8;    // i64, CLOCK_MONOTONIC milliseconds

    public const int SideStateEmpty = 0;
    public const int SideStateAttached = 1;
    public const int SideStateClosed = 2;

    // Slot page, relative to the slot's start.
    public const int SlotHeaderSize = 4096;
    public const int SlotMemberSideOffset = 0;
    public const int SlotRing0ControlOffset = 128;
    public const int SlotRing1ControlOffset = 512;
    public const int RingControlSize = 384;

    // Ring control blocks: three 128-byte lines each.
    public const int RingTailOffset = 0;               // i64, producer position (diagnostic, release)
    public const int RingHeadOffset = 128;             // i64, consumer position (release)
    public const int RingConsumerWaitingOffset = 256;  // i32, 1 = consumer may block on the data FIFO
    public const int RingProducerWaitingOffset = 260;  // i32, 1 = producer may block on the space FIFO

    // Frames.
    public const int FrameHeaderSize = 8;
    public const int FrameAlignment = 8;
    public const int FrameLengthOffset = 0;      // i32, header + payload, excluding alignment; written last
    public const int FrameTypeOffset = 4;        // i32

    public const int FramePadding = 1;
    public const int FrameWhole = 2;
    public const int FrameFirst = 3;
    public const int FrameMiddle = 4;
    public const int FrameLast = 5;

    public const int MinCapacity = 4096;
    public const int MaxCapacity = 1 << 30;
    public const int MaxSlots = 64;

    /// <summary>
    /// A frame's length rounded up to the alignment, in 64-bit arithmetic: a length read from the ring is
    /// untrusted, and in 32 bits int.MaxValue would round to a negative number that passes a bounds check.
    /// </summary>
    public static long Align(long length) => (length + (FrameAlignment - 1)) & ~(long)(FrameAlignment - 1);

    /// <summary>Fragments and claimed frames stay at most a quarter ring, so a producer can refill while the consumer drains.</summary>
    public static int MaxFramePayload(int capacity) => (capacity / 4) - FrameHeaderSize;

    public static long SlotSize(int ring0Capacity, int ring1Capacity) => (long)SlotHeaderSize + ring0Capacity + ring1Capacity;

    public static long SlotOffset(int slot, int ring0Capacity, int ring1Capacity) => HeaderSize + (slot * SlotSize(ring0Capacity, ring1Capacity));

    public static long FileSize(int ring0Capacity, int ring1Capacity, int slots) => HeaderSize + (slots * SlotSize(ring0Capacity, ring1Capacity));

    public static string DataFifo(string path, int slot, int ring) => $"{path}.{slot}.r{ring}-data";

    public static string SpaceFifo(string path, int slot, int ring) => $"{path}.{slot}.r{ring}-space";

    /// <summary>Every file a channel with <paramref name="slots"/> slots creates, the mapped file first.</summary>
    public static IEnumerable<string> AllFiles(string path, int slots)
    {
        yield return path;
        for (var slot = 0; slot < slots; slot++)
        {
            for (var ring = 0; ring < 2; ring++)
            {
                yield return DataFifo(path, slot, ring);
                yield return SpaceFifo(path, slot, ring);
            }
        }
    }
}

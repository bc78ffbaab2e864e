namespace Jex.Transport.SharedMemory;

/// <summary>
/// Byte offsets of the mapped file, exactly as docs/shared-memory.md draws them. All integers are
/// little-endian and naturally aligned. Ring 0 carries member-to-runtime messages, ring 1
/// runtime-to-member. Every field written by one side and read by the other sits on its own
/// 128-byte block, so the adjacent-line prefetcher does not pair a producer's line with a consumer's.
/// </summary>
internal static class ShmLayout
{
    /// <summary>ASCII "JEXRING" followed by a zero byte.</summary>
    public static ReadOnlySpan<byte> Magic => "JEXRING\0"u8;

    public const int LayoutVersion = 1;
    public const int HeaderSize = 4096;
    public const int LineSize = 128;

    // Header block (written once by the creator, then read-only).
    public const int MagicOffset = 0;            // 8 bytes
    public const int VersionOffset = 8;          // u32
    public const int HeaderSizeOffset = 12;      // u32
    public const int Ring0CapacityOffset = 16;   // u32, member -> runtime
    public const int Ring1CapacityOffset = 20;   // u32, runtime -> member
    public const int MaxMessageOffset = 24;      // u32
    public const int StateOffset = 28;           // u32, written last with release: 1 = ready
    public const int FileSizeOffset = 32;        // u64

    public const int StateReady = 1;

    // Side blocks: the creator (runtime) and the attacher (member).
    public const int CreatorSideOffset = 128;
    public const int AttacherSideOffset = 256;
    public const int SidePidOffset = 0;          // i32
    public const int SideStateOffset = 4;        // i32, see SideState*
    public const int SideHeartbeatOffset = 8;    // i64, CLOCK_MONOTONIC milliseconds

    public const int SideStateEmpty = 0;
    public const int SideStateAttached = 1;
    public const int SideStateClosed = 2;

    // Ring control blocks: three 128-byte lines each.
    public const int Ring0ControlOffset = 384;
    public const int Ring1ControlOffset = 768;
    public const int RingTailOffset = 0;               // i64, producer position (diagnostic, release)
    public const int RingHeadOffset = 128;             // i64, consumer position (release)
    public const int RingConsumerWaitingOffset = 256;  // i32, 1 = consumer may block on the data FIFO
    public const int RingProducerWaitingOffset = 260;  // i32, 1 = producer may block on the space FIFO

    public const int DataOffset = HeaderSize;

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

    public static int Align(int length) => (length + (FrameAlignment - 1)) & ~(FrameAlignment - 1);

    /// <summary>Fragments and claimed frames stay at most a quarter ring, so a producer can refill while the consumer drains.</summary>
    public static int MaxFramePayload(int capacity) => (capacity / 4) - FrameHeaderSize;

    public static long FileSize(int ring0Capacity, int ring1Capacity) => (long)HeaderSize + ring0Capacity + ring1Capacity;

    public static string DataFifo(string path, int ring) => $"{path}.r{ring}-data";

    public static string SpaceFifo(string path, int ring) => $"{path}.r{ring}-space";
}

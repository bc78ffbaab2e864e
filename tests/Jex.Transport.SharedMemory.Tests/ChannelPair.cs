namespace Jex.Transport.SharedMemory.Tests;

/// <summary>
/// A real channel in /dev/shm: the creator (runtime side) and an attached member side, both in
/// this process. Unique names; disposal asserts nothing is left behind.
/// </summary>
internal sealed class ChannelPair : IDisposable
{
    public ChannelPair(int capacity = 4096, int maxMessageBytes = 64 << 20, SharedMemoryOptions? options = null)
    {
        Uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        var o = options ?? new SharedMemoryOptions();
        Options = new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = capacity,
            RuntimeToMemberCapacity = capacity,
            MaxMessageBytes = maxMessageBytes,
            Idle = o.Idle,
            HeartbeatInterval = o.HeartbeatInterval,
            HeartbeatTimeout = o.HeartbeatTimeout,
        };
        Runtime = SharedMemoryChannel.Create(Uid, Options);
        Member = SharedMemoryChannel.Open(Runtime.Path, Options);
    }

    public string Uid { get; }

    public SharedMemoryOptions Options { get; }

    public SharedMemoryChannel Runtime { get; }

    public SharedMemoryChannel Member { get; }

    public string Path => Runtime.Path;

    /// <summary>Member writes, runtime reads.</summary>
    public RingProducer Producer => Member.Outbound;

    public RingConsumer Consumer => Runtime.Inbound;

    public static string[] FilesOf(string path) =>
        [path, ShmLayout.DataFifo(path, 0), ShmLayout.SpaceFifo(path, 0), ShmLayout.DataFifo(path, 1), ShmLayout.SpaceFifo(path, 1)];

    public void Dispose()
    {
        Member.Dispose();
        Runtime.Dispose();
    }
}

internal static class Payloads
{
    /// <summary>Deterministic bytes for message <paramref name="seq"/>, so a reader can verify without a copy.</summary>
    public static void Fill(Span<byte> target, long seq)
    {
        var x = (ulong)seq * 0x9E3779B97F4A7C15UL + 1;
        for (var i = 0; i < target.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            target[i] = (byte)x;
        }
    }

    public static byte[] Make(int length, long seq)
    {
        var bytes = new byte[length];
        Fill(bytes, seq);
        return bytes;
    }
}

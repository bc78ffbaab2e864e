namespace Jex.Transport.SharedMemory;

/// <summary>Sizes and timings of a channel. The creator's capacities and message limit are written to the header and bind both sides.</summary>
internal sealed class SharedMemoryOptions
{
    /// <summary>Bytes of the member-to-runtime ring; a power of two from 4 KiB to 1 GiB. Default 1 MiB.</summary>
    public int MemberToRuntimeCapacity { get; init; } = 1 << 20;

    /// <summary>Bytes of the runtime-to-member ring; a power of two from 4 KiB to 1 GiB. Default 1 MiB.</summary>
    public int RuntimeToMemberCapacity { get; init; } = 1 << 20;

    /// <summary>Largest message either side sends; larger ones are fragmented up to this limit. Default 64 MiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 << 20;

    /// <summary>
    /// Session slots in the file: how many members can hold a session at once. A slot freed by a member
    /// that closed is recycled by the creator for the next one. 1 to 64. Default 1.
    /// </summary>
    public int Sessions { get; init; } = 1;

    /// <summary>Where the file goes; null picks /dev/shm, then $XDG_RUNTIME_DIR, then the temp directory.</summary>
    public string? Directory { get; init; }

    public IdleStrategy Idle { get; init; } = IdleStrategy.Default;

    /// <summary>
    /// How often each side writes its heartbeat and checks the peer's process. Default 250 ms: a dead peer
    /// is noticed well within a second, and an idle runtime wakes rarely enough to cost next to no CPU
    /// (docs/performance.md, "Shared-memory waits").
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A peer whose process lives but whose heartbeat is older than this is declared lost (it is frozen).
    /// A dead process is noticed within one <see cref="HeartbeatInterval"/>. Default 5 s, generous because
    /// a loaded machine can delay a heartbeat thread for a while.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

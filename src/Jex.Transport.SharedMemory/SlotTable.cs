using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// The session slots of a mapped file (docs/shared-memory.md, "Session slots"): where each one lives,
/// the <see cref="SharedMemorySlot"/> objects over them, and a member's claim of a free one.
/// </summary>
internal readonly unsafe struct SlotTable
{
    private readonly byte* _file;
    private readonly string _path;
    private readonly bool _isCreator;
    private readonly IdleStrategy _idle;

    /// <param name="file">The mapping, whose header is written (creator) or validated (member).</param>
    /// <param name="path">The file, for ring names and messages.</param>
    /// <param name="isCreator">Which side the slots' rings face.</param>
    /// <param name="idle">How the rings wait.</param>
    public SlotTable(byte* file, string path, bool isCreator, IdleStrategy idle)
    {
        _file = file;
        _path = path;
        _isCreator = isCreator;
        _idle = idle;
    }

    public int Count => ChannelHeader.SlotCount(_file);

    /// <summary>Creator: every slot, blank and free.</summary>
    public SharedMemorySlot[] All()
    {
        var slots = new SharedMemorySlot[Count];
        for (var k = 0; k < slots.Length; k++)
        {
            slots[k] = New(k);
        }

        return slots;
    }

    /// <summary>
    /// Member: claims the lowest free slot for <paramref name="pid"/> (CAS of its member pid 0 to
    /// <paramref name="pid"/>) and attaches to it, or throws naming the file, the holders and what to do.
    /// </summary>
    public SharedMemorySlot Claim(int pid)
    {
        var count = Count;
        var holders = new List<int>();
        for (var k = 0; k < count; k++)
        {
            var memberSide = SlotBase(k) + L.SlotMemberSideOffset;
            var previous = Interlocked.CompareExchange(ref *(int*)(memberSide + L.SidePidOffset), pid, 0);
            if (previous == 0)
            {
                // Attach before anything else so the runtime's monitor never sees a stale heartbeat.
                SideBlock.Attach(memberSide, pid);
                var slot = New(k);
                slot.ClaimPid = pid;
                return slot;
            }

            holders.Add(previous);
        }

        throw new IOException(
            $"All {count} session slot(s) of the shared-memory file '{_path}' are taken (member pid {string.Join(", pid ", holders)}); start the runtime with more UserCode:SharedMemory:Sessions.");
    }

    private byte* SlotBase(int slot) =>
        _file + L.SlotOffset(slot, ChannelHeader.Ring0Capacity(_file), ChannelHeader.Ring1Capacity(_file));

    private SharedMemorySlot New(int index) => new(
        index, SlotBase(index), _isCreator, _path,
        ChannelHeader.Ring0Capacity(_file), ChannelHeader.Ring1Capacity(_file), ChannelHeader.MaxMessageBytes(_file), _idle);
}

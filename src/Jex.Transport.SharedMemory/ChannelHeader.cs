using System.Buffers.Binary;
using L = Jex.Transport.SharedMemory.ShmLayout;

namespace Jex.Transport.SharedMemory;

/// <summary>
/// The header page's format fields (docs/shared-memory.md, "Header"): the creator checks its options
/// and writes them once; a member checks them before it touches anything else in the file.
/// </summary>
internal static unsafe class ChannelHeader
{
    /// <summary>Throws naming the option at fault when <paramref name="options"/> cannot make a channel.</summary>
    public static void ValidateOptions(SharedMemoryOptions options)
    {
        ValidateCapacity(options.MemberToRuntimeCapacity, nameof(options.MemberToRuntimeCapacity));
        ValidateCapacity(options.RuntimeToMemberCapacity, nameof(options.RuntimeToMemberCapacity));
        if (options.MaxMessageBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxMessageBytes, "MaxMessageBytes must be positive.");
        }

        if (options.Sessions is < 1 or > L.MaxSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Sessions, $"Sessions must be from 1 to {L.MaxSlots}.");
        }
    }

    /// <summary>The file size for <paramref name="options"/>.</summary>
    public static long FileSize(SharedMemoryOptions options) =>
        L.FileSize(options.MemberToRuntimeCapacity, options.RuntimeToMemberCapacity, options.Sessions);

    /// <summary>Writes every format field except the ready state, which the creator stores last (see <see cref="MarkReady"/>).</summary>
    public static void Write(byte* file, SharedMemoryOptions options)
    {
        var header = new Span<byte>(file, L.HeaderSize);
        L.Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[L.VersionOffset..], L.LayoutVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[L.HeaderSizeOffset..], L.HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[L.Ring0CapacityOffset..], options.MemberToRuntimeCapacity);
        BinaryPrimitives.WriteInt32LittleEndian(header[L.Ring1CapacityOffset..], options.RuntimeToMemberCapacity);
        BinaryPrimitives.WriteInt32LittleEndian(header[L.MaxMessageOffset..], options.MaxMessageBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header[L.FileSizeOffset..], FileSize(options));
        BinaryPrimitives.WriteInt32LittleEndian(header[L.SlotCountOffset..], options.Sessions);
        BinaryPrimitives.WriteInt64LittleEndian(header[L.SlotSizeOffset..], L.SlotSize(options.MemberToRuntimeCapacity, options.RuntimeToMemberCapacity));
    }

    /// <summary>The release store that lets members in: everything written before it is visible to a member that reads it ready.</summary>
    public static void MarkReady(byte* file) => Volatile.Write(ref *(int*)(file + L.StateOffset), L.StateReady);

    /// <summary>Member side: throws <see cref="SharedMemoryFormatException"/> naming the file when its header is not one this side can use.</summary>
    public static void Validate(byte* file, string path, long mappedBytes)
    {
        var header = new ReadOnlySpan<byte>(file, L.HeaderSize);
        if (!header[..8].SequenceEqual(L.Magic))
        {
            throw new SharedMemoryFormatException($"'{path}' is not a Jex shared-memory file (bad magic).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[L.VersionOffset..]);
        if (version != L.LayoutVersion)
        {
            throw new SharedMemoryFormatException($"'{path}' has layout version {version}; this side speaks version {L.LayoutVersion}.");
        }

        if (Volatile.Read(ref *(int*)(file + L.StateOffset)) != L.StateReady)
        {
            throw new SharedMemoryFormatException($"'{path}' is not ready: its creator has not finished initialising it.");
        }

        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(header[L.HeaderSizeOffset..]);
        var ring0 = BinaryPrimitives.ReadInt32LittleEndian(header[L.Ring0CapacityOffset..]);
        var ring1 = BinaryPrimitives.ReadInt32LittleEndian(header[L.Ring1CapacityOffset..]);
        var fileSize = BinaryPrimitives.ReadInt64LittleEndian(header[L.FileSizeOffset..]);
        var slots = BinaryPrimitives.ReadInt32LittleEndian(header[L.SlotCountOffset..]);
        var slotSize = BinaryPrimitives.ReadInt64LittleEndian(header[L.SlotSizeOffset..]);
        if (headerSize != L.HeaderSize || !IsValidCapacity(ring0) || !IsValidCapacity(ring1) || slots is < 1 or > L.MaxSlots
            || slotSize != L.SlotSize(ring0, ring1) || fileSize != L.FileSize(ring0, ring1, slots) || mappedBytes < fileSize)
        {
            throw new SharedMemoryFormatException(
                $"'{path}' has an inconsistent header: header size {headerSize}, capacities {ring0}/{ring1}, {slots} slot(s) of {slotSize} bytes, file size {fileSize} (mapped {mappedBytes}).");
        }
    }

    public static int Ring0Capacity(byte* file) => *(int*)(file + L.Ring0CapacityOffset);

    public static int Ring1Capacity(byte* file) => *(int*)(file + L.Ring1CapacityOffset);

    public static int MaxMessageBytes(byte* file) => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(file + L.MaxMessageOffset, 4));

    public static int SlotCount(byte* file) => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(file + L.SlotCountOffset, 4));

    private static void ValidateCapacity(int capacity, string name)
    {
        if (!IsValidCapacity(capacity))
        {
            throw new ArgumentOutOfRangeException(name, capacity, $"{name} must be a power of two from {L.MinCapacity} to {L.MaxCapacity} bytes.");
        }
    }

    private static bool IsValidCapacity(int capacity) => capacity is >= L.MinCapacity and <= L.MaxCapacity && (capacity & (capacity - 1)) == 0;
}

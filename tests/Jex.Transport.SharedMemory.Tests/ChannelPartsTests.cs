using System.Buffers.Binary;
using System.Diagnostics;

namespace Jex.Transport.SharedMemory.Tests;

/// <summary>The parts of a channel on their own: the file's bytes against docs/shared-memory.md, its cleanup, and the slot claim.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChannelPartsTests
{
    private static readonly SharedMemoryOptions ThreeSlots = new()
    {
        MemberToRuntimeCapacity = 8192,
        RuntimeToMemberCapacity = 4096,
        MaxMessageBytes = 100_000,
        Sessions = 3,
    };

    [Fact]
    public void Create_WritesTheHeaderAndSideBlocksAtTheOffsetsTheDocumentGives()
    {
        using var runtime = SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..12], ThreeSlots);
        using var member = SharedMemoryChannel.Open(runtime.Path, ThreeSlots);

        // Read back through the file, not the mapping: these are the bytes another process sees.
        var bytes = File.ReadAllBytes(runtime.Path);
        const long slotSize = 4096 + 8192 + 4096;
        Assert.Equal(4096 + (3 * slotSize), bytes.Length);
        Assert.Equal("JEXRING\0"u8.ToArray(), bytes[..8]);
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(4096, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(8192, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(4096, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(100_000, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(28)));
        Assert.Equal(bytes.Length, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(40)));
        Assert.Equal(slotSize, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(48)));
        Assert.All(bytes[56..128], b => Assert.Equal(0, b));

        // Runtime side block at 128: pid, attached, a heartbeat on the monotonic clock.
        Assert.Equal(Environment.ProcessId, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(128)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(132)));
        var beat = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(136));
        Assert.InRange(SharedMemoryChannel.MonotonicMilliseconds() - beat, 0, 60_000);

        // The member claimed slot 0 (lowest first): its block at 4096 names it; slot 1 is free.
        Assert.Equal(0, member.Slot.Index);
        Assert.Equal(Environment.ProcessId, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4096)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4096 + 4)));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)(4096 + slotSize))));
        Assert.Equal((3, 100_000), (runtime.SlotCount, member.MaxMessageBytes));
    }

    [Fact]
    public void RemoveFiles_RemovesTheFileAndItsFifosOnly_NotAChannelWhoseUidExtendsTheName()
    {
        var uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        using var neighbour = SharedMemoryChannel.Create(uid + ".b", new SharedMemoryOptions());
        var path = SharedMemoryChannel.PathFor(uid);
        var files = ShmLayout.AllFiles(path, 2).ToList();
        var stray = path + ".notes";
        foreach (var file in files.Append(stray))
        {
            File.WriteAllBytes(file, []);
        }

        try
        {
            SharedMemoryChannel.RemoveFiles(path);

            Assert.All(files, f => Assert.False(File.Exists(f), f));
            Assert.True(File.Exists(stray), "a file that is not one of the channel's FIFOs was removed");
            Assert.All(ShmLayout.AllFiles(neighbour.Path, 1), f => Assert.True(File.Exists(f), f));
        }
        finally
        {
            File.Delete(stray);
        }
    }

    [Fact]
    public void Create_OverAFileWhoseRuntimeIsDead_ReplacesIt_AndOverALiveOnesFile_RefusesNamingThePidAndTheKey()
    {
        var uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        var path = SharedMemoryChannel.PathFor(uid);
        using var sleeper = Process.Start("sleep", "30");
        try
        {
            var stale = new byte[4096];
            BinaryPrimitives.WriteInt32LittleEndian(stale.AsSpan(128), sleeper.Id);
            File.WriteAllBytes(path, stale);

            var refused = Assert.Throws<IOException>(() => SharedMemoryChannel.Create(uid, new SharedMemoryOptions()));
            Assert.Contains($"in use by a live runtime (pid {sleeper.Id}); choose another UserCode:Uid", refused.Message, StringComparison.Ordinal);
            Assert.Equal(4096, new FileInfo(path).Length);

            sleeper.Kill();
            Assert.True(sleeper.WaitForExit(10_000));
            using var replaced = SharedMemoryChannel.Create(uid, new SharedMemoryOptions());
            var bytes = File.ReadAllBytes(path);
            Assert.Equal("JEXRING\0"u8.ToArray(), bytes[..8]);
            Assert.Equal(Environment.ProcessId, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(128)));
        }
        finally
        {
            if (!sleeper.HasExited)
            {
                sleeper.Kill();
            }

            SharedMemoryChannel.RemoveFiles(path);
        }
    }
}

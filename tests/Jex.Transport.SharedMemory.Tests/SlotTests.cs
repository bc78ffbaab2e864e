namespace Jex.Transport.SharedMemory.Tests;

/// <summary>Several members on one file: each claims its own slot, and a closed member's slot is recycled clean.</summary>
public sealed class SlotTests
{
    private static readonly SharedMemoryOptions TwoSlots = new()
    {
        MemberToRuntimeCapacity = 4096,
        RuntimeToMemberCapacity = 4096,
        Sessions = 2,
        HeartbeatInterval = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public void Open_TwoMembers_ClaimDifferentSlotsWhoseRingsDoNotMix_AndAThirdIsRefusedNamingTheLimit()
    {
        using var runtime = SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..12], TwoSlots);
        Assert.Equal(4096 + (2 * (4096 + 4096 + 4096)), new FileInfo(runtime.Path).Length);
        Assert.All(ChannelPair.FilesOf(runtime.Path, 2), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        using var first = SharedMemoryChannel.Open(runtime.Path, TwoSlots);
        using var second = SharedMemoryChannel.Open(runtime.Path, TwoSlots);
        Assert.Equal(0, first.Slot.Index);
        Assert.Equal(1, second.Slot.Index);

        var third = Assert.Throws<IOException>(() => SharedMemoryChannel.Open(runtime.Path, TwoSlots));
        Assert.Contains("All 2 session slot(s)", third.Message, StringComparison.Ordinal);
        Assert.Contains("UserCode:SharedMemory:Sessions", third.Message, StringComparison.Ordinal);

        first.Outbound.Write("one"u8, CancellationToken.None);
        first.Outbound.Flush();
        second.Outbound.Write("two"u8, CancellationToken.None);
        second.Outbound.Flush();
        Assert.Equal(["one"], DrainText(runtime.Slots[0].Inbound));
        Assert.Equal(["two"], DrainText(runtime.Slots[1].Inbound));
    }

    [Fact]
    public async Task Recycle_AfterAMemberClosesWithUnreadFrames_GivesTheNextMemberEmptyRingsAndAFreshPeerWatch()
    {
        using var runtime = SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..12], new SharedMemoryOptions { MemberToRuntimeCapacity = 4096, RuntimeToMemberCapacity = 4096, HeartbeatInterval = TimeSpan.FromMilliseconds(50) });
        var closed = new TaskCompletionSource<(string Reason, bool Died)>(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.MemberLost += (_, reason, died) => closed.TrySetResult((reason, died));
        var slot = runtime.Slots[0];

        using (var member = SharedMemoryChannel.Open(runtime.Path, TwoSlots))
        {
            member.Outbound.Write("left behind"u8, CancellationToken.None);
            member.Outbound.Flush();
            slot.Outbound.Write("never read"u8, CancellationToken.None);
            slot.Outbound.Flush();
        }

        var (reason, died) = await closed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(died);
        Assert.Contains("closed", reason, StringComparison.Ordinal);
        Assert.True(slot.Peer.IsLost);

        slot.Recycle();
        Assert.Equal(0, slot.MemberPid);
        Assert.False(slot.Peer.IsLost);
        Assert.False(slot.Inbound.HasData);

        using var next = SharedMemoryChannel.Open(runtime.Path, TwoSlots);
        Assert.Equal(0, next.Slot.Index);
        Assert.False(next.Inbound.HasData);
        next.Outbound.Write("fresh"u8, CancellationToken.None);
        next.Outbound.Flush();
        Assert.Equal(["fresh"], DrainText(slot.Inbound));
        slot.Outbound.Write("reply"u8, CancellationToken.None);
        slot.Outbound.Flush();
        Assert.Equal(["reply"], DrainText(next.Inbound));
        await Task.Delay(200);
        Assert.False(slot.Peer.IsLost);
    }

    private static List<string> DrainText(RingConsumer ring)
    {
        var texts = new List<string>();
        ring.WaitForData(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        _ = ring.Drain(m => texts.Add(System.Text.Encoding.UTF8.GetString(m)));
        return texts;
    }
}

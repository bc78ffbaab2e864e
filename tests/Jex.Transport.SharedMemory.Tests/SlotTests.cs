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

        var (reason, died) = await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
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

    [Fact]
    public async Task Member_WhoseSlotTheRuntimeTookBack_IsToldWithinAHeartbeat_AndItsCloseDoesNotTouchTheNextMember()
    {
        using var runtime = SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..12], TwoSlots);
        var slot = runtime.Slots[0];
        var first = SharedMemoryChannel.Open(runtime.Path, TwoSlots);
        using var sleeper = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "30"))!;
        try
        {
            Assert.Equal(0, first.Slot.Index);
            var told = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            first.PeerLost += reason => told.TrySetResult(reason);

            // What the listener does to a member that broke the ring's rules and did not leave.
            Assert.True(slot.Peer.MarkLost("protocol violation"));
            slot.Recycle();
            var reason = await told.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Contains("took back slot 0", reason, StringComparison.Ordinal);
            Assert.True(first.Peer.IsLost);

            using var next = SharedMemoryChannel.Open(runtime.Path, TwoSlots);
            Assert.Equal(0, next.Slot.Index);
            // Both members live in this process; the next one must look like another process to the first.
            next.ImpersonateForTest(sleeper.Id);
            first.Dispose();
            // The old member's close must not mark the new member's claim closed.
            await Task.Delay(300);
            Assert.False(slot.Peer.IsLost, slot.Peer.Reason);
            Assert.Equal(sleeper.Id, slot.MemberPid);
        }
        finally
        {
            first.Dispose();
            sleeper.Kill();
        }
    }

    [Fact]
    public async Task Runtime_WhenAClaimNeverAttaches_TreatsTheLiveClaimerAsSilentAfterTheHeartbeatTimeout()
    {
        var options = new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = 4096,
            RuntimeToMemberCapacity = 4096,
            Sessions = 2,
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(400),
        };
        using var runtime = SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..12], options);
        var lost = new TaskCompletionSource<(int Slot, string Reason, bool Died)>(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.MemberLost += (slot, reason, died) => lost.TrySetResult((slot.Index, reason, died));
        // A live process (this one) claims slot 1 and never writes its heartbeat or state.
        Assert.Equal(0, runtime.Slots[1].TryClaim(Environment.ProcessId));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (index, reason, died) = await lost.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, index);
        Assert.True(died);
        Assert.Contains("has not attached", reason, StringComparison.Ordinal);
        // Not before the timeout; a late verdict only means a busy machine, so the upper bound is loose.
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(30));
        Assert.False(runtime.Slots[0].Peer.IsLost);
    }
}

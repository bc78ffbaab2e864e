using Jex.Transport.SharedMemory;
using System.Diagnostics;
using Jex.FunctionalTests.Infrastructure;
using Jex.FunctionalTests.SharedMemory;
using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.V1;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// Issue #11 row 3 and "shared memory trusts nothing in the ring": a second member process, written
/// from docs/shared-memory.md alone, claims a slot of a real runtime and writes what the layout
/// forbids, then dies, goes silent, leaves, or stays. For each, the runtime logs the violation with
/// its code, tells that member (SessionClosed), keeps serving a well-behaved member on another slot
/// throughout, frees the bad slot for the next member, stays alive with bounded RSS, and leaves
/// nothing in /dev/shm after SIGTERM.
/// </summary>
public sealed class SharedMemoryHostileTests(ITestOutputHelper output)
{
    /// <summary>What one hostile member may cost the runtime: the bound for a 20 MiB non-Init message.</summary>
    private const long RssBound = 64L << 20;

    public static TheoryData<string, string, string, string> RingViolations => new()
    {
        // action, then, expected code, how the slot comes free
        { "max-length", "hold", "SHM_FRAME_LENGTH", "evicted" },
        { "longer-than-ring", "kill", "SHM_FRAME_LENGTH", "died" },
        { "negative", "close", "SHM_FRAME_LENGTH", "closed" },
        { "bad-type", "hold", "SHM_FRAME_TYPE", "evicted" },
        { "oversized", "hold", "SHM_MESSAGE_TOO_LARGE", "evicted" },
    };

    [Theory]
    [MemberData(nameof(RingViolations))]
    public async Task BadFrame_ClosesOnlyThatSlotWithItsCode_WhileAnotherMemberIsServed_AndTheSlotIsReused(string action, string then, string code, string freedBy)
    {
        await using var runtime = await StartAsync("--UserCode:SharedMemory:Sessions=2");
        var uid = Path.GetFileName(runtime.Address)["jex-".Length..];
        await WithLog(runtime, null, async () =>
        {
            await using var good = new TestSession(SharedMemorySessionChannel.Open(runtime.Address));
            await good.OpenAsync(TestSession.InitFor("identity"));
            Assert.Equal("warm", Echo(await good.RunAsync([TestSession.MakeBatch(1, ["warm"])], 1), 1));
            var rssBefore = ProcessStatus.RssBytes(runtime.Pid);
            var peakBefore = ProcessStatus.PeakRssBytes(runtime.Pid);

            using var peer = HostileShmPeer.Start(runtime.Address, action, then == "kill" ? "hold" : then, "--read-seconds", "3");
            await WithLog(runtime, peer, async () =>
            {
                Assert.Equal("CLAIMED 1", await peer.WaitForLineAsync("CLAIMED", TimeSpan.FromSeconds(15)));

                // The member is told, with the code, on its own ring.
                var closed = await peer.WaitForLineAsync("CLOSED", TimeSpan.FromSeconds(15));
                if (then == "kill")
                {
                    // Within the runtime's grace for the member to leave, so its death is what frees the slot.
                    peer.Kill();
                }

                Assert.StartsWith("CLOSED code=3 message=" + code + ":", closed, StringComparison.Ordinal);
                // The runtime logs it, naming the slot, the code, the length and the limit.
                var line = await WaitForLogAsync(runtime, $"slot 1 closed: protocol violation {code}");
                Assert.Contains("length ", line, StringComparison.Ordinal);
                Assert.Contains("limit ", line, StringComparison.Ordinal);

                // The well-behaved member on slot 0 is served meanwhile.
                Assert.Equal("during", Echo(await good.RunAsync([TestSession.MakeBatch(2, ["during"])], 1), 2));

                // The bad slot is recycled: a new member gets slot 1 (slot 0 is still held) and is served.
                var watch = Stopwatch.StartNew();
                await using var next = await OpenWhenFreeAsync(runtime, TimeSpan.FromSeconds(15));
                output.WriteLine($"slot free again after {watch.Elapsed.TotalMilliseconds:F0} ms ({freedBy})");
                await next.OpenAsync(TestSession.InitFor("identity"));
                Assert.Equal("reused", Echo(await next.RunAsync([TestSession.MakeBatch(1, ["reused"])], 1), 1));
                if (freedBy == "evicted")
                {
                    Assert.False(peer.HasExited);
                    Assert.Contains(runtime.Log.Split('\n'), l => l.Contains("did not release the slot", StringComparison.Ordinal));
                }

                Assert.Equal("after", Echo(await good.RunAsync([TestSession.MakeBatch(3, ["after"])], 1), 3));
                AssertBounded(runtime, rssBefore, peakBefore);
                await next.DrainAsync();
            });

            await good.DrainAsync();
        });

        await StopAndAssertCleanAsync(runtime, uid);
    }

    [Theory]
    [InlineData("garbage", "silent")]
    [InlineData("silent-claim", "hold")]
    public async Task SilentMember_AfterGarbageOrWithoutEverAttaching_LosesItsSlotOnly_AndTheSlotIsReused(string action, string then)
    {
        await using var runtime = await StartAsync("--UserCode:SharedMemory:Sessions=2");
        var uid = Path.GetFileName(runtime.Address)["jex-".Length..];
        await WithLog(runtime, null, async () =>
        {
            await using var good = new TestSession(SharedMemorySessionChannel.Open(runtime.Address));
            await good.OpenAsync(TestSession.InitFor("identity"));
            Assert.Equal("warm", Echo(await good.RunAsync([TestSession.MakeBatch(1, ["warm"])], 1), 1));
            var rssBefore = ProcessStatus.RssBytes(runtime.Pid);
            var peakBefore = ProcessStatus.PeakRssBytes(runtime.Pid);

            using var peer = HostileShmPeer.Start(runtime.Address, action, then, "--read-seconds", "3");
            await WithLog(runtime, peer, async () =>
            {
                Assert.Equal("CLAIMED 1", await peer.WaitForLineAsync("CLAIMED", TimeSpan.FromSeconds(15)));
                if (action == "garbage")
                {
                    // Well framed but not a MemberMessage: the session refuses it, the ring is fine.
                    var closed = await peer.WaitForLineAsync("CLOSED", TimeSpan.FromSeconds(15));
                    Assert.DoesNotContain("code=0 ", closed, StringComparison.Ordinal);
                }

                // Silence (no heartbeat, or a claim never attached) is noticed after the 5 s heartbeat timeout.
                var line = await WaitForLogAsync(runtime, "slot 1: its member died or went silent", TimeSpan.FromSeconds(20));
                Assert.Contains(action == "garbage" ? "has not updated its heartbeat" : "has not attached", line, StringComparison.Ordinal);
                Assert.False(peer.HasExited);
                Assert.Equal("during", Echo(await good.RunAsync([TestSession.MakeBatch(2, ["during"])], 1), 2));

                await using var next = await OpenWhenFreeAsync(runtime, TimeSpan.FromSeconds(15));
                await next.OpenAsync(TestSession.InitFor("identity"));
                Assert.Equal("reused", Echo(await next.RunAsync([TestSession.MakeBatch(1, ["reused"])], 1), 1));
                AssertBounded(runtime, rssBefore, peakBefore);
                await next.DrainAsync();
            });

            await good.DrainAsync();
        });

        await StopAndAssertCleanAsync(runtime, uid);
    }

    [Fact]
    public async Task ThreeTwentyMebibyteNonInitMessagesAtOnce_RaiseRssByLessThan64MiB_AndEverySlotIsFreedAgain()
    {
        await using var runtime = await StartAsync("--UserCode:SharedMemory:Sessions=4");
        var uid = Path.GetFileName(runtime.Address)["jex-".Length..];
        await WithLog(runtime, null, async () =>
        {
            await using var good = new TestSession(SharedMemorySessionChannel.Open(runtime.Address));
            await good.OpenAsync(TestSession.InitFor("identity"));
            Assert.Equal("warm", Echo(await good.RunAsync([TestSession.MakeBatch(1, ["warm"])], 1), 1));
            var rssBefore = ProcessStatus.RssBytes(runtime.Pid);
            var peakBefore = ProcessStatus.PeakRssBytes(runtime.Pid);

            var peers = new List<HostileShmPeer>();
            try
            {
                // One at a time up to its claim: the peer's claim is not atomic (see the script).
                for (var i = 0; i < 3; i++)
                {
                    var peer = HostileShmPeer.Start(runtime.Address, "oversized", "exit", "--read-seconds", "3");
                    peers.Add(peer);
                    _ = await peer.WaitForLineAsync("CLAIMED", TimeSpan.FromSeconds(15));
                }

                foreach (var peer in peers)
                {
                    Assert.StartsWith("CLOSED code=3 message=SHM_MESSAGE_TOO_LARGE:", await peer.WaitForLineAsync("CLOSED", TimeSpan.FromSeconds(20)), StringComparison.Ordinal);
                }

                Assert.Equal("during", Echo(await good.RunAsync([TestSession.MakeBatch(2, ["during"])], 1), 2));
                AssertBounded(runtime, rssBefore, peakBefore);

                // Every hostile slot comes free: three new members are served at once.
                var next = new List<TestSession>();
                for (var i = 0; i < 3; i++)
                {
                    var session = await OpenWhenFreeAsync(runtime, TimeSpan.FromSeconds(20));
                    next.Add(session);
                    await session.OpenAsync(TestSession.InitFor("identity"));
                }

                foreach (var session in next)
                {
                    Assert.Equal("reused", Echo(await session.RunAsync([TestSession.MakeBatch(1, ["reused"])], 1), 1));
                    await session.DrainAsync();
                    await session.DisposeAsync();
                }
            }
            finally
            {
                foreach (var peer in peers)
                {
                    output.WriteLine($"peer {peer.Pid}:\n{peer.Output}");
                    peer.Dispose();
                }
            }

            await good.DrainAsync();
        });

        await StopAndAssertCleanAsync(runtime, uid);
    }

    private static Task<RuntimeProcess> StartAsync(params string[] extra) =>
        ShmLeftovers.RemoveFilesWhenDead(RuntimeProcess.StartAsync(["--UserCode:Transport=shared-memory", $"--UserCode:Uid={ShmLeftovers.NewUid()}", .. extra]));

    private static string Echo(Dictionary<ulong, BatchResult> results, ulong batch) =>
        TestSession.Text(results[batch].Results[0].Ok.Outputs_[0].Value);

    /// <summary>RSS now, and the peak if it rose during the test, stay within the bound above the baseline.</summary>
    private void AssertBounded(RuntimeProcess runtime, long rssBefore, long peakBefore)
    {
        var rss = ProcessStatus.RssBytes(runtime.Pid);
        var peak = ProcessStatus.PeakRssBytes(runtime.Pid);
        var grown = Math.Max(rss, peak > peakBefore ? peak : 0) - rssBefore;
        output.WriteLine($"RSS {rssBefore >> 20} -> {rss >> 20} MiB, peak {peakBefore >> 20} -> {peak >> 20} MiB");
        Assert.True(grown < RssBound, $"runtime RSS grew by {grown >> 20} MiB (bound {RssBound >> 20} MiB): {rssBefore} -> {rss}, peak {peakBefore} -> {peak}");
    }

    private static async Task<TestSession> OpenWhenFreeAsync(RuntimeProcess runtime, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new TestSession(SharedMemorySessionChannel.Open(runtime.Address));
            }
            catch (IOException) when (watch.Elapsed < timeout)
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task<string> WaitForLogAsync(RuntimeProcess runtime, string text, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < (timeout ?? TimeSpan.FromSeconds(15)))
        {
            if (runtime.Log.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"the runtime did not log '{text}'");
    }

    /// <summary>SIGTERM: the runtime, still alive after everything above, exits 0 and removes every file.</summary>
    private async Task StopAndAssertCleanAsync(RuntimeProcess runtime, string uid)
    {
        Assert.False(runtime.HasExited, runtime.Log);
        Assert.DoesNotContain("Unhandled exception", runtime.Log, StringComparison.Ordinal);
        runtime.Signal(LibC.SigTerm);
        var code = await runtime.WaitForExitAsync(TimeSpan.FromSeconds(20));
        if (code != 0 || ShmLeftovers.FilesOf(uid).Length > 0)
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
        }

        Assert.Equal(0, code);
        Assert.Empty(ShmLeftovers.FilesOf(uid));
    }

    private async Task WithLog(RuntimeProcess runtime, HostileShmPeer? peer, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            if (peer is not null)
            {
                output.WriteLine("hostile peer output:\n" + peer.Output);
            }

            throw;
        }
    }
}

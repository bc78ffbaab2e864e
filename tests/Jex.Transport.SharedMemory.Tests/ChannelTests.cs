using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Jex.Transport.SharedMemory.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ChannelTests
{
    private static readonly SharedMemoryOptions FastHeartbeat = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(100) };

    // A peer's death is seen by the liveness check on each heartbeat tick; with a heartbeat timeout
    // this long, only that check can report it within the tests' waits, however slow the machine.
    private static readonly SharedMemoryOptions PidWatch = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(100), HeartbeatTimeout = TimeSpan.FromMinutes(10) };
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public void Create_MakesAnOwnerOnlyFileAndFifosInDevShm_AndDisposeRemovesThem()
    {
        string path;
        using (var pair = new ChannelPair())
        {
            path = pair.Path;
            Assert.StartsWith("/dev/shm/jex-test-", path, StringComparison.Ordinal);
            foreach (var file in ChannelPair.FilesOf(path))
            {
                Assert.True(File.Exists(file), file);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            Assert.Equal(4096 + 4096 + 4096 + 4096, new FileInfo(path).Length);
            Assert.Equal(Environment.ProcessId, pair.Runtime.PeerPid);
        }

        Assert.All(ChannelPair.FilesOf(path), f => Assert.False(File.Exists(f), f));
    }

    [Fact]
    public void Open_WhenAMemberIsAlreadyAttached_IsRefusedNamingThePid()
    {
        using var pair = new ChannelPair();
        var error = Assert.Throws<IOException>(() => SharedMemoryChannel.Open(pair.Path, pair.Options));
        Assert.Contains($"pid {Environment.ProcessId}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_WhenTheFileIsNotAJexChannel_ThrowsNamingTheFile()
    {
        var path = $"/dev/shm/jex-test-{Guid.NewGuid():N}";
        File.WriteAllBytes(path, new byte[8192]);
        try
        {
            var error = Assert.Throws<SharedMemoryFormatException>(() => SharedMemoryChannel.Open(path, new SharedMemoryOptions()));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains("magic", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("a b")]
    public void Create_WithAUidThatCannotNameAFile_ThrowsNamingTheKey(string uid)
    {
        var error = Assert.Throws<ArgumentException>(() => SharedMemoryChannel.Create(uid, new SharedMemoryOptions()));
        Assert.Contains("UserCode:Uid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_WithACapacityThatIsNotAPowerOfTwo_ThrowsNamingTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SharedMemoryChannel.Create("test-" + Guid.NewGuid().ToString("N")[..8], new SharedMemoryOptions { MemberToRuntimeCapacity = 5000 }));
        Assert.Contains("power of two", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runtime_WhenThePeerProcessIsKilled_NoticesItsExitBeforeAnyHeartbeatTimeoutWakesItsReaderAndReportsADeath()
    {
        var uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        using var runtime = SharedMemoryChannel.Create(uid, PidWatch);
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        try
        {
            runtime.RegisterPeerForTest(sleeper.Id);
            var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var died = false;
            runtime.MemberLost += (_, reason, d) =>
            {
                died = d;
                lost.TrySetResult(reason);
            };
            var reader = Task.Factory.StartNew(
                () => runtime.Inbound.WaitForData(CancellationToken.None),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.Delay(300);
            Assert.False(runtime.Peer.IsLost);
            Assert.False(reader.IsCompleted);

            sleeper.Kill();
            var reason = await lost.Task.WaitAsync(Generous);
            var error = await Assert.ThrowsAsync<SharedMemoryPeerLostException>(() => reader.WaitAsync(Generous));
            Assert.Contains($"pid {sleeper.Id}", reason, StringComparison.Ordinal);
            Assert.Contains("exited", error.Message, StringComparison.Ordinal);
            Assert.True(died);
            // The runtime decides what a member's death means (the listener frees the slot); the files stay until it disposes.
            runtime.Dispose();
            Assert.All(ChannelPair.FilesOf(runtime.Path), f => Assert.False(File.Exists(f), f));
        }
        finally
        {
            if (!sleeper.HasExited)
            {
                sleeper.Kill();
            }
        }
    }

    [Fact]
    public async Task Member_WhenTheRuntimeProcessIsKilled_NoticesItsExitBeforeAnyHeartbeatTimeoutAndRemovesTheFiles()
    {
        var uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        using var runtime = SharedMemoryChannel.Create(uid, FastHeartbeat);
        using var member = SharedMemoryChannel.Open(runtime.Path, PidWatch);
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        try
        {
            // The member watches the creator slot; point it at a process we can kill.
            member.RegisterPeerForTest(sleeper.Id);
            var reader = Task.Factory.StartNew(
                () => member.Inbound.WaitForData(CancellationToken.None),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.Delay(300);
            Assert.False(reader.IsCompleted);

            sleeper.Kill();
            var error = await Assert.ThrowsAsync<SharedMemoryPeerLostException>(() => reader.WaitAsync(Generous));
            Assert.Contains($"pid {sleeper.Id}", error.Message, StringComparison.Ordinal);
            Assert.Contains("exited", error.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(runtime.Path));
        }
        finally
        {
            if (!sleeper.HasExited)
            {
                sleeper.Kill();
            }
        }
    }

    [Fact]
    public async Task Member_WhenTheRuntimeClosesTheChannel_WakesAtOnceWithPeerLost()
    {
        var uid = "test-" + Guid.NewGuid().ToString("N")[..12];
        var runtime = SharedMemoryChannel.Create(uid, new SharedMemoryOptions { HeartbeatInterval = TimeSpan.FromSeconds(10) });
        // The heartbeat timeout is out of reach, so only the close itself can wake the reader.
        using var member = SharedMemoryChannel.Open(runtime.Path, PidWatch);
        var reader = Task.Factory.StartNew(
            () => member.Inbound.WaitForData(CancellationToken.None),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.Delay(300);
        runtime.Dispose();
        var error = await Assert.ThrowsAsync<SharedMemoryPeerLostException>(() => reader.WaitAsync(Generous));
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(runtime.Path));
    }

    [Fact]
    public async Task Waiter_WhenIdle_BlocksWithNearZeroCpu_AndWakesOnTheDoorbell()
    {
        using var pair = new ChannelPair();
        var tid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Factory.StartNew(
            () =>
            {
                tid.SetResult(GetTid());
                pair.Consumer.WaitForData(CancellationToken.None);
                pair.Consumer.Drain(m => received.TrySetResult(m.ToArray()));
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var thread = await tid.Task.WaitAsync(Generous);
        // Measure from the moment the waiter first sleeps, not after a fixed time: on a busy machine
        // its start (JIT included) can outlast any fixed pause and land in the measured window.
        await WaitUntilSleepingAsync(thread);
        await Task.Delay(200);
        var before = CpuTicks(thread);
        await Task.Delay(2000);
        var used = CpuTicks(thread) - before;
        // Clock ticks are 10 ms: 2 ticks in 2 s is 1% of a core, and a spinning thread would show ~200.
        Assert.True(used <= 2, $"idle waiter used {used} ticks in 2 s");

        pair.Producer.Write([1, 2, 3], CancellationToken.None);
        pair.Producer.Flush();
        Assert.Equal([1, 2, 3], await received.Task.WaitAsync(Generous));
        await reader.WaitAsync(Generous);
    }

    private static async Task WaitUntilSleepingAsync(int tid)
    {
        var deadline = Stopwatch.StartNew();
        string stat;
        while ((stat = File.ReadAllText($"/proc/self/task/{tid}/stat"))[stat.LastIndexOf(')') + 2] != 'S')
        {
            Assert.True(deadline.Elapsed < Generous, $"the waiter (thread {tid}) never went to sleep: {stat}");
            await Task.Delay(10);
        }
    }

    private static long CpuTicks(int tid)
    {
        var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 (utime) and 15 (stime) of proc(5); index 0 here is field 3 (state).
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}

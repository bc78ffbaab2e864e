using System.Diagnostics;

namespace Jex.Transport.SharedMemory.Tests;

public sealed class IdleStrategyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void For_AdaptiveOnFewerThanFourCores_BlocksAtOnce(int cores)
    {
        var idle = IdleStrategy.For(WaitMode.Adaptive, cores);

        Assert.Same(IdleStrategy.BlockOnly, idle);
        Assert.Equal(0, idle.SpinTicks);
        Assert.Equal(0, idle.YieldTicks);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(64)]
    public void For_AdaptiveOnFourCoresOrMore_SpinsAHundredMicrosecondsAndYieldsAnotherHundred(int cores)
    {
        var idle = IdleStrategy.For(WaitMode.Adaptive, cores);

        Assert.Equal(Ticks(TimeSpan.FromMicroseconds(100)), idle.SpinTicks);
        Assert.Equal(Ticks(TimeSpan.FromMicroseconds(200)), idle.YieldTicks);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void For_SpinOnAnyMachine_SpinsOneMillisecondAndBlocksAfterTwo(int cores)
    {
        var idle = IdleStrategy.For(WaitMode.Spin, cores);

        Assert.Equal(Ticks(TimeSpan.FromMilliseconds(1)), idle.SpinTicks);
        Assert.Equal(Ticks(TimeSpan.FromMilliseconds(2)), idle.YieldTicks);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void For_BlockOnAnyMachine_NeverSpinsOrYields(int cores)
    {
        var idle = IdleStrategy.For(WaitMode.Block, cores);

        Assert.Equal(0, idle.SpinTicks);
        Assert.Equal(0, idle.YieldTicks);
    }

    [Theory]
    [InlineData("adaptive", (int)WaitMode.Adaptive)]
    [InlineData("Spin", (int)WaitMode.Spin)]
    [InlineData(" BLOCK ", (int)WaitMode.Block)]
    public void TryParse_KnownSpelling_ReturnsItsMode(string text, int expected)
    {
        Assert.True(WaitModes.TryParse(text, out var mode));
        Assert.Equal((WaitMode)expected, mode);
        Assert.Equal(text.Trim().ToLowerInvariant(), WaitModes.ToName(mode));
    }

    [Theory]
    [InlineData("busy")]
    [InlineData("1")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParse_UnknownSpelling_Fails(string? text)
    {
        Assert.False(WaitModes.TryParse(text, out _));
    }

    [Fact]
    public void WaitForData_WithSpinOnAnEmptyRing_BlocksAfterItsBoundAndBurnsLittleCpu()
    {
        using var pair = new ChannelPair(options: new SharedMemoryOptions { Idle = IdleStrategy.LongSpin });
        var cpu = TimeSpan.Zero;
        var waiter = new Thread(() =>
        {
            // A first short wait JIT-compiles the path and throws the first cancellation, whose CPU
            // cost a slow or busy machine could otherwise push past the bound.
            using (var warm = new CancellationTokenSource(TimeSpan.FromMilliseconds(20)))
            {
                Assert.ThrowsAny<OperationCanceledException>(() => pair.Consumer.WaitForData(warm.Token));
            }

            var before = ThreadCpu();
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            Assert.ThrowsAny<OperationCanceledException>(() => pair.Consumer.WaitForData(cts.Token));
            cpu = ThreadCpu() - before;
        });
        waiter.Start();
        Assert.True(waiter.Join(TimeSpan.FromSeconds(30)), "the waiter did not return after its cancellation");

        // 2 ms of spin and yield, then asleep on the doorbell until cancelled: far below the 500 ms waited.
        Assert.InRange(cpu, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    // CLOCK_THREAD_CPUTIME_ID through /proc: this thread's user + system time.
    private static TimeSpan ThreadCpu()
    {
        var stat = File.ReadAllText($"/proc/self/task/{LibCTid()}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private static int LibCTid() => Interop.GetTid();

    private static class Interop
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
        public static extern int GetTid();
    }
}

using System.Diagnostics;
using System.Globalization;
using Jex.Transport.SharedMemory;

namespace Jex.Benchmarks.SharedMemory;

/// <summary>
/// Stopwatch harness for the bare rings (no protobuf, no runtime): 64-byte frame throughput in
/// batches of 256, ping-pong round trip with the default idle strategy, and the two wake-up
/// candidates measured for docs/shared-memory.md: FIFO doorbell vs. polling with a 1 ms sleep,
/// by wake-up latency and by CPU burnt while idle.
/// Run: dotnet run -c Release --project tests/Jex.Benchmarks -- shm-ring
/// </summary>
internal static class RingHarness
{
    public static int Run()
    {
        Console.WriteLine("ring: 1 MiB rings, both ends in one process on two threads");
        Throughput(frames: 20_000_000, batch: 256, payload: 64);
        RoundTrip("round trip, spin-yield-block (default)", IdleStrategy.Default, rounds: 200_000, pollSleep: false);
        RoundTrip("round trip, doorbell only (FIFO wake-up each way)", IdleStrategy.BlockOnly, rounds: 20_000, pollSleep: false);
        RoundTrip("round trip, polling with Sleep(1) each way", IdleStrategy.Default, rounds: 500, pollSleep: true);
        IdleCpu("idle CPU, blocked on the FIFO doorbell", pollSleep: false);
        IdleCpu("idle CPU, polling with Sleep(1)", pollSleep: true);
        return 0;
    }

    private static SharedMemoryChannel[] Pair(IdleStrategy idle)
    {
        var options = new SharedMemoryOptions { Idle = idle };
        var runtime = SharedMemoryChannel.Create("bench-" + Guid.NewGuid().ToString("N")[..12], options);
        return [runtime, SharedMemoryChannel.Open(runtime.Path, options)];
    }

    private static void Throughput(int frames, int batch, int payload)
    {
        var pair = Pair(IdleStrategy.Default);
        try
        {
            var producer = pair[1].Outbound;
            var consumer = pair[0].Inbound;
            long received = 0;
            var reader = new Thread(() =>
            {
                MessageHandler count = _ => received++;
                while (received < frames)
                {
                    consumer.WaitForData(CancellationToken.None);
                    consumer.Drain(count);
                }
            });
            var data = new byte[payload];
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            reader.Start();
            for (var i = 0; i < frames; i += batch)
            {
                for (var j = 0; j < batch; j++)
                {
                    producer.Write(data, CancellationToken.None);
                }

                producer.Flush();
            }

            reader.Join();
            var seconds = clock.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"throughput, {payload} B frames, flush per {batch}: {frames / seconds / 1e6:F1} M frames/s, {frames * (double)payload / seconds / 1e9:F2} GB/s payload, {cpu * 1000 / frames:F0} ns CPU/frame, {(double)allocated / frames:F3} B allocated/frame"));
        }
        finally
        {
            pair[1].Dispose();
            pair[0].Dispose();
        }
    }

    private static void RoundTrip(string name, IdleStrategy idle, int rounds, bool pollSleep)
    {
        var pair = Pair(idle);
        try
        {
            var runtimeIn = pair[0].Inbound;
            var runtimeOut = pair[0].Outbound;
            var memberIn = pair[1].Inbound;
            var memberOut = pair[1].Outbound;
            var echo = new Thread(() =>
            {
                MessageHandler reply = m => runtimeOut.Write(m, CancellationToken.None);
                for (var i = 0; i < rounds; i++)
                {
                    Await(runtimeIn, pollSleep);
                    runtimeIn.Drain(reply, 1);
                    runtimeOut.Flush();
                }
            });
            echo.Start();
            var samples = new double[rounds];
            var message = new byte[64];
            MessageHandler ignore = _ => { };
            for (var i = 0; i < rounds; i++)
            {
                var start = Stopwatch.GetTimestamp();
                memberOut.Write(message, CancellationToken.None);
                memberOut.Flush();
                Await(memberIn, pollSleep);
                memberIn.Drain(ignore, 1);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }

            echo.Join();
            // The first tenth warms up the JIT and the caches.
            var steady = samples[(rounds / 10)..];
            Array.Sort(steady);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: p50 {steady[steady.Length / 2]:F2} us, p99 {steady[(int)(steady.Length * 0.99)]:F2} us, p99.9 {steady[(int)(steady.Length * 0.999)]:F2} us ({steady.Length} rounds)"));
        }
        finally
        {
            pair[1].Dispose();
            pair[0].Dispose();
        }
    }

    private static void Await(RingConsumer consumer, bool pollSleep)
    {
        if (!pollSleep)
        {
            consumer.WaitForData(CancellationToken.None);
            return;
        }

        while (!consumer.HasData)
        {
            Thread.Sleep(1);
        }
    }

    private static void IdleCpu(string name, bool pollSleep)
    {
        var pair = Pair(IdleStrategy.Default);
        try
        {
            var consumer = pair[0].Inbound;
            var tid = 0;
            var waiter = new Thread(() =>
            {
                Volatile.Write(ref tid, GetTid());
                Await(consumer, pollSleep);
            });
            waiter.Start();
            while (Volatile.Read(ref tid) == 0)
            {
                Thread.Sleep(1);
            }

            Thread.Sleep(500);
            var before = CpuTicks(tid);
            Thread.Sleep(5000);
            var ticks = CpuTicks(tid) - before;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {ticks * 10.0 / 5000 * 100:F2}% of a core over 5 s ({ticks} clock ticks)"));
            pair[1].Outbound.Write([1], CancellationToken.None);
            pair[1].Outbound.Flush();
            waiter.Join();
        }
        finally
        {
            pair[1].Dispose();
            pair[0].Dispose();
        }
    }

    private static long CpuTicks(int tid)
    {
        var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>The calling thread's id, read from the /proc/thread-self link ("PID/task/TID").</summary>
    private static int GetTid() =>
        int.Parse(Path.GetFileName(new FileInfo("/proc/thread-self").LinkTarget!), CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace Jex.Runtime.Hosting;

/// <summary>
/// With <c>JEX_STARTUP_TRACE=1</c>, prints each startup phase to stderr: wall time since the process
/// started (from /proc, so it includes the runtime's own start before Main), the phase's own wall
/// time, the process CPU so far, and
/// the methods the JIT compiled so far (not precompiled by ReadyToRun) with the time it took. Off, a phase mark is one static bool test.
/// </summary>
internal static class StartupTrace
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("JEX_STARTUP_TRACE") == "1";

    private static readonly Lock Gate = new();
    private static long _firstTimestamp;
    private static double _firstMs;
    private static double _last;

    public static void Mark(string phase)
    {
        if (!Enabled)
        {
            return;
        }

        lock (Gate)
        {
            if (_firstTimestamp == 0)
            {
                _firstTimestamp = Stopwatch.GetTimestamp();
                _firstMs = SinceProcessStartMs();
            }

            var now = _firstMs + Stopwatch.GetElapsedTime(_firstTimestamp).TotalMilliseconds;
            var cpu = Environment.CpuUsage.TotalTime.TotalMilliseconds;
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"jex-startup: {now,7:F1} ms  +{now - _last,6:F1}  cpu {cpu,6:F1}  jit {JitInfo.GetCompiledMethodCount(),4} {JitInfo.GetCompilationTime().TotalMilliseconds,5:F1} ms  [{Environment.CurrentManagedThreadId,2}] {phase}"));
            _last = now;
        }
    }

    /// <summary>
    /// Field 22 of /proc/self/stat is the start time in clock ticks since boot; /proc/uptime is seconds
    /// since boot. Both have 10 ms resolution, so only the first mark uses them; later ones add a Stopwatch.
    /// </summary>
    private static double SinceProcessStartMs()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var startTicks = long.Parse(fields[19], CultureInfo.InvariantCulture);
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        // USER_HZ is 100 on every Linux we run on.
        return (uptime * 1000) - (startTicks * 10.0);
    }
}

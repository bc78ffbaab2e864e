using System.Globalization;
using System.Runtime.Versioning;

namespace Jex.Cli.Bench;

/// <summary>
/// CPU time of a process from <c>/proc/&lt;pid&gt;/stat</c> (utime + stime), the same source
/// <c>top</c> uses. The resolution is one clock tick (10 ms), so runs must last long enough.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ProcStat
{
    // sysconf(_SC_CLK_TCK) is 100 on every Linux configuration .NET supports.
    private const double MicrosecondsPerTick = 1_000_000.0 / 100;

    /// <summary>CPU microseconds used so far, or null when the process is gone.</summary>
    public static double? CpuMicroseconds(int pid)
    {
        if (ReadOrNull(pid, "stat") is not { } text)
        {
            return null;
        }

        // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
        var rest = text.AsSpan(text.LastIndexOf(')') + 2);
        Span<Range> fields = stackalloc Range[16];
        var count = rest.Split(fields, ' ');
        if (count < 13)
        {
            return null;
        }

        // After the name: state(3) ... utime is field 14, stime 15 (1-based), i.e. index 11 and 12 here.
        var utime = long.Parse(rest[fields[11]], CultureInfo.InvariantCulture);
        var stime = long.Parse(rest[fields[12]], CultureInfo.InvariantCulture);
        return (utime + stime) * MicrosecondsPerTick;
    }

    /// <summary>
    /// CPU microseconds the whole machine spent busy so far, over all cores (the first line of
    /// <c>/proc/stat</c>: user, nice, system, irq, softirq and steal; not idle or iowait); null when
    /// it cannot be read.
    /// </summary>
    public static double? MachineBusyMicroseconds()
    {
        string text;
        try
        {
            using var reader = new StreamReader("/proc/stat");
            text = reader.ReadLine() ?? string.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 9 || fields[0] != "cpu")
        {
            return null;
        }

        long busy = 0;
        foreach (var i in (ReadOnlySpan<int>)[1, 2, 3, 6, 7, 8])
        {
            busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
        }

        return busy * MicrosecondsPerTick;
    }

    /// <summary>
    /// The text of <c>/proc/&lt;pid&gt;/<paramref name="file"/></c>, or null when it cannot be read:
    /// the process has exited (or is not ours to read), which callers report as "gone".
    /// </summary>
    public static string? ReadOrNull(int pid, string file)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/{file}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

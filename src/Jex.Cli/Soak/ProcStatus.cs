using System.Globalization;
using System.Runtime.Versioning;
using Jex.Cli.Bench;

namespace Jex.Cli.Soak;

/// <summary>A process's resident set size from <c>/proc/&lt;pid&gt;/status</c> (VmRSS), what <c>top</c> shows as RES.</summary>
[SupportedOSPlatform("linux")]
internal static class ProcStatus
{
    /// <summary>VmRSS in bytes, or null when the process is gone.</summary>
    public static long? RssBytes(int pid) => ProcStat.ReadOrNull(pid, "status") is { } text ? ParseRss(text) : null;

    /// <summary>The VmRSS line of a status file ("VmRSS:     12345 kB"), in bytes; null when absent (a zombie has none).</summary>
    public static long? ParseRss(string status)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                continue;
            }

            var value = line["VmRSS:".Length..].Trim();
            var space = value.IndexOf(' ');
            var number = space < 0 ? value : value[..space];
            return long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : null;
        }

        return null;
    }
}

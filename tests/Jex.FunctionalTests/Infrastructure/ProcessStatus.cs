using System.Globalization;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>
/// Reads a live process's memory from <c>/proc/&lt;pid&gt;/status</c>: the resource bounds the
/// hostile-member tests assert are stated in resident set size.
/// </summary>
internal static class ProcessStatus
{
    /// <summary>Resident set size (VmRSS) in bytes; throws if the process is gone.</summary>
    public static long RssBytes(int pid) => ReadKiB(pid, "VmRSS:") * 1024;

    /// <summary>Peak resident set size (VmHWM) in bytes; throws if the process is gone.</summary>
    public static long PeakRssBytes(int pid) => ReadKiB(pid, "VmHWM:") * 1024;

    private static long ReadKiB(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmRSS:	   65432 kB"
                var value = line.AsSpan(field.Length).Trim();
                var space = value.IndexOf(' ');
                return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field} line");
    }
}

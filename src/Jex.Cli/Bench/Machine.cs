using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Jex.Cli.Bench;

/// <summary>The machine line of a report: what ran it, and how busy it was.</summary>
[SupportedOSPlatform("linux")]
internal static class Machine
{
    public static Dictionary<string, string> Describe() => new(StringComparer.Ordinal)
    {
        ["cpu"] = Read("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
        ["memory_gib"] = MemoryGib(),
        ["os"] = Read("/etc/os-release", "PRETTY_NAME")?.Trim('"') ?? RuntimeInformation.OSDescription,
        ["kernel"] = ReadAll("/proc/sys/kernel/osrelease") ?? string.Empty,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
        // The machine is shared; the load average says how much to trust the numbers.
        ["loadavg"] = string.Join(' ', (ReadAll("/proc/loadavg") ?? string.Empty).Split(' ').Take(3)),
    };

    public static string Line(IReadOnlyDictionary<string, string> m) =>
        $"{m["cpu"]}, {m["cores"]} cores, {m["memory_gib"]} GiB, {m["os"]} (kernel {m["kernel"]}), {m["dotnet"]}, {m["date"]}, load average {m["loadavg"]}";

    private static string MemoryGib()
    {
        var kb = Read("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return kb is null ? "?" : (long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0).ToString("F0", CultureInfo.InvariantCulture);
    }

    private static string? ReadAll(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? Read(string path, string key)
    {
        var text = ReadAll(path);
        if (text is null)
        {
            return null;
        }

        foreach (var line in text.Split('\n'))
        {
            var sep = line.IndexOfAny([':', '=']);
            if (sep > 0 && line[..sep].Trim() == key)
            {
                return line[(sep + 1)..].Trim();
            }
        }

        return null;
    }
}

using System.Diagnostics;

namespace Jex.Runtime.Dispatch;

internal static class RuntimeInfo
{
    public static readonly string Version =
        typeof(RuntimeInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static readonly Stopwatch Uptime = Stopwatch.StartNew();
}

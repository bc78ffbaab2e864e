namespace Jex.Transport.SharedMemory;

/// <summary>How a ring waiter with nothing to read passes time (UserCode:SharedMemory:Wait, jex bench --shm-wait).</summary>
internal enum WaitMode
{
    /// <summary>Chosen per machine by <see cref="IdleStrategy.For(WaitMode, int)"/>: a short spin on few cores, a longer one on many.</summary>
    Adaptive,

    /// <summary>Spin up to a millisecond, yield another, then block: lowest latency, a core busy while traffic flows.</summary>
    Spin,

    /// <summary>Block on the doorbell at once: least CPU, a system call and a wake-up per idle gap.</summary>
    Block,
}

/// <summary>The configuration spellings of <see cref="WaitMode"/>.</summary>
internal static class WaitModes
{
    public static readonly IReadOnlyList<string> Names = ["adaptive", "spin", "block"];

    public static string ToName(WaitMode mode) => Names[(int)mode];

    public static bool TryParse(string? text, out WaitMode mode)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(text?.Trim(), Names[i], StringComparison.OrdinalIgnoreCase))
            {
                mode = (WaitMode)i;
                return true;
            }
        }

        mode = WaitMode.Adaptive;
        return false;
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Jex.Transport.SharedMemory.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LibCTests
{
    [Fact]
    public async Task IsProcessAlive_SeesAnUnreapedChildAsDead_AndItsLivingParentAsAlive()
    {
        // sh starts a child, prints its pid, then becomes sleep, which never reaps. The child exits only once
        // its parent is sleep, so the shell cannot have reaped it first: it stays a zombie while sleep runs.
        using var parent = Process.Start(new ProcessStartInfo(
            "/bin/sh", ["-c", "sh -c 'until grep -q ^sleep /proc/$PPID/comm; do :; done' & echo $!; exec sleep 30"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            var line = await parent.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var zombie = int.Parse(line!, CultureInfo.InvariantCulture);
            await WaitForStateAsync(zombie, 'Z', TimeSpan.FromSeconds(10));

            Assert.Equal(0, LibC.Kill(zombie, 0));
            Assert.False(LibC.IsProcessAlive(zombie), $"pid {zombie} is a zombie and must count as dead");
            Assert.True(LibC.IsProcessAlive(parent.Id), $"pid {parent.Id} (sleep) is running");
        }
        finally
        {
            parent.Kill();
            await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.False(LibC.IsProcessAlive(parent.Id), $"pid {parent.Id} was killed and reaped");
    }

    private static async Task WaitForStateAsync(int pid, char state, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        string stat = "";
        while (deadline.Elapsed < timeout)
        {
            stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            if (stat[stat.LastIndexOf(')') + 2] == state)
            {
                return;
            }

            await Task.Delay(10);
        }

        Assert.Fail($"pid {pid} did not reach state {state} in {timeout}: {stat}");
    }
}

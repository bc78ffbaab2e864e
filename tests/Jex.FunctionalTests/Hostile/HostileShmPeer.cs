using Jex.Transport.SharedMemory;
using System.Collections.Concurrent;
using System.Diagnostics;
using Jex.FunctionalTests.Infrastructure;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// A second member process that breaks the shared-memory ring's rules: <c>shm_hostile_peer.py</c>,
/// written from docs/shared-memory.md with the Python standard library only, run by /usr/bin/python3.
/// </summary>
internal sealed class HostileShmPeer : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private HostileShmPeer(Process process) => _process = process;

    public static string Script => Path.Combine(Paths.RepoRoot, "tests", "Jex.FunctionalTests", "Hostile", "shm_hostile_peer.py");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _lines);

    /// <summary>Starts the peer on the runtime's file: it claims a slot, does <paramref name="action"/>, then <paramref name="then"/>.</summary>
    public static HostileShmPeer Start(string path, string action, string then, params string[] extra)
    {
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Script, path, action, then, .. extra])
        {
            info.ArgumentList.Add(a);
        }

        var peer = new HostileShmPeer(Process.Start(info) ?? throw new InvalidOperationException("could not start /usr/bin/python3"));
        peer._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                peer._lines.Enqueue(e.Data);
            }
        };
        peer._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                peer._lines.Enqueue("[stderr] " + e.Data);
            }
        };
        peer._process.BeginOutputReadLine();
        peer._process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/> and returns it.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"the hostile peer did not print '{prefix}' within {timeout}; its output:\n{Output}");
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _ = LibC.Kill(_process.Id, LibC.SigKill);
            _process.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

namespace Jex.Cli.Bench;

/// <summary>
/// A forked <c>jex-runtime</c> for one benchmark path: started with a fresh token, this process as
/// its parent, and its own log level turned down; ready when it prints its <c>JEX-READY</c> line.
/// Fork-to-ready is measured from just before <see cref="Process.Start()"/> to that line.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class RuntimeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly TaskCompletionSource<RuntimeReadyInfo> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RuntimeProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public string Address { get; private set; } = string.Empty;

    public double ForkToReadyMs { get; private set; }

    /// <summary>CPU the runtime used up to its ready line: unlike wall time, not inflated by a busy machine.</summary>
    public double CpuToReadyMs { get; private set; }

    public string Token { get; } = "bench-" + Guid.NewGuid().ToString("N");

    public string RecentOutput
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    public static async Task<RuntimeProcess> StartAsync(string executable, string samples, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        if (!File.Exists(executable))
        {
            throw new FileNotFoundException($"runtime executable '{executable}' not found (run ./demo.sh build, or pass --runtime)", executable);
        }

        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--UserCode:Path=" + samples);
        info.ArgumentList.Add("--UserCode:ParentPid=" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--UserCode:LogLevel=Warning");
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = info };
        var runtime = new RuntimeProcess(process);
        info.Environment["UserCode__Token"] = runtime.Token;
        info.Environment["UserCode__LogFormat"] = "text";
        process.OutputDataReceived += (_, e) => runtime.OnOutput(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => runtime.OnOutput(e.Data, stdout: false);
        var started = Stopwatch.GetTimestamp();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var ready = await runtime._ready.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            runtime.ForkToReadyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            runtime.CpuToReadyMs = (ProcStat.CpuMicroseconds(process.Id) ?? double.NaN) / 1000;
            runtime.Address = ready.Address;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            var output = runtime.RecentOutput;
            await runtime.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"{executable} did not become ready: {e.Message}\n{output}", e);
        }

        return runtime;
    }

    private void OnOutput(string? line, bool stdout)
    {
        if (line is null)
        {
            if (stdout)
            {
                _ready.TrySetException(new InvalidOperationException("the runtime closed stdout before its ready line"));
            }

            return;
        }

        if (stdout && ReadyLine.TryParse(line, out var ready))
        {
            _ready.TrySetResult(ready!);
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > 40)
            {
                _tail.Dequeue();
            }
        }
    }

    /// <summary>SIGTERM, so the runtime drains and removes its files; SIGKILL if it does not exit in time.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = LibC.Kill(_process.Id, LibC.SigTerm);
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _process.Dispose();
        }
    }
}

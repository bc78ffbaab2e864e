using System.Collections.Concurrent;
using System.Diagnostics;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>
/// A real jex-runtime child process, started from <c>out/runtime</c> (built by <c>./demo.sh build</c>)
/// on the samples in <c>out/samples</c>. Captures everything it writes, for assertions and for
/// the failure message of a test that times out.
/// </summary>
public sealed class RuntimeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<RuntimeReadyInfo> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RuntimeProcess(Process process)
    {
        _process = process;
    }

    public static string Token { get; } = "test-token-" + Guid.NewGuid().ToString("N");

    public int Pid => _process.Id;

    public string Address { get; private set; } = string.Empty;

    internal RuntimeReadyInfo ReadyInfo { get; private set; } = null!;

    public string Log => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the runtime and waits for its ready line.</summary>
    public static async Task<RuntimeProcess> StartAsync(IEnumerable<string>? arguments = null, string? token = null, string? userCodePath = null)
    {
        var runtime = Start(arguments, token, userCodePath);
        try
        {
            await runtime.WaitReadyAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }

        return runtime;
    }

    /// <summary>Starts the runtime without waiting for it to be ready.</summary>
    public static RuntimeProcess Start(IEnumerable<string>? arguments = null, string? token = null, string? userCodePath = null, bool includeDefaults = true)
    {
        var info = new ProcessStartInfo(Paths.Runtime)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (includeDefaults)
        {
            info.ArgumentList.Add($"--UserCode:Path={userCodePath ?? Paths.Samples}");
        }

        foreach (var a in arguments ?? [])
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["UserCode__Token"] = token ?? Token;
        info.Environment["UserCode__LogFormat"] = "text";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + Paths.Runtime);
        var runtime = new RuntimeProcess(process);
        process.OutputDataReceived += (_, e) => runtime.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                runtime._output.Enqueue("[stderr] " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runtime;
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            _stdoutClosed.TrySetResult();
            _ready.TrySetException(new InvalidOperationException("runtime closed stdout before its ready line:\n" + Log));
            return;
        }

        _output.Enqueue("[stdout] " + line);
        if (ReadyLine.TryParse(line, out var ready))
        {
            ReadyInfo = ready!;
            Address = ready!.Address;
            _ready.TrySetResult(ready);
        }
    }

    public IEnumerable<string> StdoutLines => _output.Where(l => l.StartsWith("[stdout] ", StringComparison.Ordinal)).Select(l => l[9..]);

    public IEnumerable<string> StderrLines => _output.Where(l => l.StartsWith("[stderr] ", StringComparison.Ordinal)).Select(l => l[9..]);

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        try
        {
            await _ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"runtime not ready after {timeout}; its output:\n{Log}");
        }
    }

    /// <summary>Waits for exit and for all output to be read; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            // Output drains right after exit, but a loaded machine may take a while to schedule the reader.
            await _stdoutClosed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"runtime {Pid} still running after {timeout}; its output:\n{Log}");
        }

        return _process.ExitCode;
    }

    public void Signal(int signal)
    {
        if (LibC.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using Jex.Member.Diagnostics;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Launch;

/// <summary>
/// Process mode: forks <c>jex-runtime</c> with a fresh token in its environment, this process as
/// its parent (so it exits when the member dies), and port 0 or a Unix socket, then waits for the
/// ready line.
/// </summary>
internal sealed class ProcessLauncher : IRuntimeLauncher
{
    private static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly string _executable;
    private readonly ILogger _logger;

    public ProcessLauncher(string executable, ILogger? logger = null)
    {
        _executable = executable;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Executable => _executable;

    /// <summary>The command-line arguments for <paramref name="options"/>, in order; the job's own arguments come last so they win.</summary>
    public static IReadOnlyList<string> BuildArguments(RuntimeLaunchOptions options)
    {
        var args = new List<string>
        {
            "--UserCode:ParentPid=" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--UserCode:Transport=" + options.Transport.ToWire(),
            // Plain text lines: the member keeps them for error messages and its debug log.
            "--UserCode:LogFormat=text",
        };
        if (!string.IsNullOrEmpty(options.UserCodePath))
        {
            args.Add("--UserCode:Path=" + options.UserCodePath);
        }

        if (!string.IsNullOrEmpty(options.Uid))
        {
            args.Add("--UserCode:Uid=" + options.Uid);
        }

        if (options.GrpcSocket is { Length: > 0 } socket)
        {
            args.Add("--UserCode:Grpc:Socket=" + socket);
        }
        else
        {
            args.Add("--UserCode:Grpc:Port=" + options.GrpcPort.ToString(CultureInfo.InvariantCulture));
        }

        AddDeployArguments(args, options.Deploy);
        if (options.ExtraArguments is { } extra)
        {
            args.AddRange(extra);
        }

        return args;
    }

    /// <summary>The runtime arguments that turn on jex.v1.Deploy; none when <paramref name="deploy"/> is null.</summary>
    public static void AddDeployArguments(List<string> args, DeployLaunchOptions? deploy)
    {
        if (deploy is null)
        {
            return;
        }

        args.Add("--UserCode:Deploy:Enabled=true");
        if (!string.IsNullOrEmpty(deploy.CodeDir))
        {
            args.Add("--UserCode:CodeDir=" + deploy.CodeDir);
        }
    }

    public async Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken)
    {
        if (!File.Exists(_executable))
        {
            throw new RuntimeStartException($"runtime executable not found: {_executable} (run ./demo.sh build, or fix the job's runtime.service executable)") { IsFinal = true };
        }

        var psi = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var arg in BuildArguments(options))
        {
            psi.ArgumentList.Add(arg);
        }

        // The token travels through the environment, never the command line (visible in ps).
        psi.Environment["UserCode__Token"] = options.Token;

        Log.StartingRuntime(_logger, _executable, options.Transport.ToWire());
        var started = Stopwatch.StartNew();
        var output = RuntimeOutput.Start(psi, _executable, _logger);
        var (process, tail, ready) = (output.Process, output.Tail, output.Ready);
        var instance = new ProcessRuntimeInstance(process, tail, _logger);
        var timeout = options.ReadyTimeout ?? DefaultReadyTimeout;
        try
        {
            var winner = await Task.WhenAny(ready, instance.Exited, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
            if (winner == ready)
            {
                instance.SetReady(await ready.ConfigureAwait(false));
                Log.RuntimeReady(_logger, instance.Ready.Pid, instance.Ready.Address, instance.Ready.Version, started.ElapsedMilliseconds);
                return instance;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (winner == instance.Exited)
            {
                throw RuntimeStartException.ExitedBeforeReady($"runtime {_executable}", instance.ExitCode, tail);
            }

            throw new RuntimeStartException(
                $"runtime {_executable} printed no ready line within {timeout.TotalSeconds:0.#} s: {tail.Summary()}");
        }
        catch
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>A forked runtime process.</summary>
internal sealed class ProcessRuntimeInstance : IRuntimeInstance
{
    private readonly Process _process;
    private readonly OutputTail _tail;
    private readonly ILogger _logger;
    private readonly int _pid;
    private RuntimeReadyInfo? _ready;

    public ProcessRuntimeInstance(Process process, OutputTail tail, ILogger logger)
    {
        _process = process;
        _tail = tail;
        _logger = logger;
        _pid = process.Id;
        // WaitForExitAsync also waits for the redirected streams to reach end of file, so the
        // last error line is in the tail by the time Exited completes.
        Exited = WaitExitAsync();
    }

    public RuntimeReadyInfo Ready => _ready ?? throw new InvalidOperationException("the runtime is not ready yet");

    public string Name => $"runtime pid {_pid}";

    public Task Exited { get; }

    public int Pid => _pid;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public IReadOnlyList<string> RecentOutput => _tail.Snapshot();

    public string OutputSummary => _tail.Summary();

    internal void SetReady(RuntimeReadyInfo ready) => _ready = ready;

    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Exited.IsCompleted)
        {
            return;
        }

        _ = LibC.Kill(_pid, LibC.SigTerm);
        try
        {
            await Exited.WaitAsync(grace, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.RuntimeKilledAfterGrace(_logger, _pid, (long)grace.TotalMilliseconds);
            Kill();
            await Exited.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Exited.IsCompleted)
        {
            Kill();
        }

        try
        {
            await Exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A process that ignores SIGKILL for 10 s is the kernel's problem; do not hang the member.
        }

        _process.Dispose();
    }

    private async Task WaitExitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        Log.RuntimeExited(_logger, _pid, _process.ExitCode);
    }
}

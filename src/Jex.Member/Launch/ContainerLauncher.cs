using System.Diagnostics;
using System.Globalization;
using Jex.Member.Diagnostics;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Launch;

/// <summary>
/// Container mode: runs the runtime image with the <c>docker</c> CLI (podman accepts the same
/// commands). The <c>run</c> stays attached, so the container's stdout carries the ready line and
/// its logs, and the CLI's exit is the container's exit. Stop is <c>docker stop -t</c> (SIGTERM,
/// then SIGKILL), Kill is <c>docker kill</c>; <c>--rm</c> removes the container either way.
/// </summary>
internal sealed class ContainerLauncher : IRuntimeLauncher
{
    private readonly ContainerLauncherOptions _options;
    private readonly ILogger _logger;

    public ContainerLauncher(ContainerLauncherOptions options, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Image);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    public ContainerLauncherOptions Options => _options;

    public async Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken)
    {
        ContainerCommand.Validate(options);
        var userCode = ContainerCommand.MapUserCode(options.UserCodePath, _options.UserCodeMountPoint);
        var cli = await ContainerCli.ResolveAsync(_options.Cli, cancellationToken).ConfigureAwait(false);
        var name = "jex-runtime-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 4);
        // The token reaches the runtime as a read-only file mount: not in the environment (docker
        // inspect shows it) nor on a command line (ps shows it).
        if (OperatingSystem.IsWindows())
        {
            throw new RuntimeStartException("container mode needs a Linux or macOS host: the token file's owner and mode are POSIX") { IsFinal = true };
        }

        var tokenFile = ContainerTokenFile.Create(options.Token, _options.RuntimeUid, _options.RuntimeGid);
        RuntimeOutput output;
        try
        {
            var psi = cli.StartInfo(ContainerCommand.BuildRunArguments(_options, options, name, Environment.ProcessId, userCode, tokenFile.Path, tokenFile.RunAs, keepUserNamespace: cli.IsPodman));
            Log.StartingRuntime(_logger, $"{cli.Describe(["run", _options.Image])} as {name}", options.Transport.ToWire());
            output = RuntimeOutput.Start(psi, cli.Executable, _logger);
        }
        catch
        {
            tokenFile.Dispose();
            throw;
        }

        var started = Stopwatch.StartNew();
        var (process, tail, ready) = (output.Process, output.Tail, output.Ready);
        var instance = new ContainerRuntimeInstance(cli, name, process, tail, _options.CliTimeout, _logger, tokenFile);
        var timeout = options.ReadyTimeout ?? _options.DefaultReadyTimeout;
        try
        {
            var winner = await Task.WhenAny(ready, instance.Exited, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (winner == instance.Exited)
            {
                throw RuntimeStartException.ExitedBeforeReady($"container {name} ({_options.Image})", instance.ExitCode, tail, Hint(cli, instance.ExitCode));
            }

            if (winner != ready)
            {
                throw new RuntimeStartException(
                    $"container {name} ({_options.Image}) printed no ready line within {timeout.TotalSeconds:0.#} s: {tail.Summary()}");
            }

            var info = await ready.ConfigureAwait(false);
            var portQuery = new[] { "port", name, _options.ContainerPort.ToString(CultureInfo.InvariantCulture) + "/tcp" };
            var port = await cli.RunAsync(portQuery, _options.CliTimeout, cancellationToken).ConfigureAwait(false);
            if (port.ExitCode != 0)
            {
                throw new RuntimeStartException($"`{cli.Describe(portQuery)}` failed: {port.LastErrorLine}");
            }

            var hostPort = ContainerCommand.ParsePublishedPort(port.StdOut, _options.HostAddress);
            var address = ContainerCommand.TranslateAddress(info.Address, _options.ContainerPort, _options.HostAddress, hostPort);
            // Deploy is served on the gRPC listener, so it is reached through the same published port.
            instance.SetReady(info with { Address = address, Deploy = info.Deploy is null ? null : address });
            Log.RuntimeReady(_logger, info.Pid, address, info.Version, started.ElapsedMilliseconds);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // 125 and 126 are the engine's own failures, before the runtime ran. Under podman on a host
    // like this project's, the cause is the OCI runtime's default rlimits ("error setting rlimit"),
    // which docker/containers.conf sets.
    private static string Hint(ContainerCli cli, int? exitCode) =>
        exitCode is 125 or 126 && cli.IsPodman && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CONTAINERS_CONF"))
            ? " (podman may need docker/containers.conf: export CONTAINERS_CONF=$PWD/docker/containers.conf)"
            : "";
}

/// <summary>A runtime in a container, driven through the attached <c>docker run</c> client.</summary>
internal sealed class ContainerRuntimeInstance : IRuntimeInstance
{
    private readonly ContainerCli _cli;
    private readonly Process _client;
    private readonly OutputTail _tail;
    private readonly TimeSpan _cliTimeout;
    private readonly ILogger _logger;
    private readonly int _clientPid;
    private RuntimeReadyInfo? _ready;

    private readonly ContainerTokenFile? _tokenFile;

    public ContainerRuntimeInstance(ContainerCli cli, string name, Process client, OutputTail tail, TimeSpan cliTimeout, ILogger logger, ContainerTokenFile? tokenFile = null)
    {
        _tokenFile = tokenFile;
        _cli = cli;
        ContainerName = name;
        _client = client;
        _tail = tail;
        _cliTimeout = cliTimeout;
        _logger = logger;
        _clientPid = client.Id;
        Exited = WaitExitAsync();
    }

    /// <summary>The container's name (unique per start).</summary>
    public string ContainerName { get; }

    public string Name => $"container {ContainerName}";

    public RuntimeReadyInfo Ready => _ready ?? throw new InvalidOperationException("the runtime is not ready yet");

    /// <summary>Completes when the attached client exits, which is when the container has stopped.</summary>
    public Task Exited { get; }

    /// <summary>The container's exit code (the client relays it; 125-127 are the engine's own errors).</summary>
    public int? ExitCode => _client.HasExited ? _client.ExitCode : null;

    public IReadOnlyList<string> RecentOutput => _tail.Snapshot();

    public string OutputSummary => _tail.Summary();

    internal void SetReady(RuntimeReadyInfo ready) => _ready = ready;

    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Exited.IsCompleted)
        {
            return;
        }

        // `stop -t N` is SIGTERM, then SIGKILL after N seconds, done by the engine.
        var seconds = Math.Max(0, (int)Math.Ceiling(grace.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var stop = await _cli.RunAsync(["stop", "-t", seconds, ContainerName], grace + _cliTimeout, cancellationToken).ConfigureAwait(false);
        try
        {
            await Exited.WaitAsync(_cliTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.RuntimeKilledAfterGrace(_logger, _clientPid, (long)grace.TotalMilliseconds);
            Log.RuntimeOutput(_logger, _clientPid, $"`{_cli.Describe(["stop", "-t", seconds, ContainerName])}`: {stop.LastErrorLine}");
            Kill();
            await Exited.WaitAsync(_cliTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Kill()
    {
        if (Exited.IsCompleted)
        {
            return;
        }

        // Killing the client alone would leave the container running: the engine owns it.
        var kill = _cli.Run(["kill", ContainerName], _cliTimeout);
        if (kill.ExitCode != 0 && !Exited.Wait(_cliTimeout))
        {
            // The engine could not kill it (or it was never created): end the client at least.
            Log.RuntimeOutput(_logger, _clientPid, $"`{_cli.Describe(["kill", ContainerName])}`: {kill.LastErrorLine}");
            try
            {
                _client.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await Exited.WaitAsync(_cliTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Do not hang the member on a stuck engine; the container is labelled for cleanup.
        }

        _client.Dispose();
    }

    private async Task WaitExitAsync()
    {
        // Also waits for the redirected streams to end, so the last line is in the tail.
        await _client.WaitForExitAsync().ConfigureAwait(false);
        // The container is gone (the attached client exits with it): so is its need for the token.
        _tokenFile?.Dispose();
        Log.RuntimeExited(_logger, _clientPid, _client.ExitCode);
    }
}

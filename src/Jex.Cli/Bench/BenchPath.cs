using System.Runtime.Versioning;
using Jex.Member.Transports;
using Jex.Member.Transports.Grpc;
using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

namespace Jex.Cli.Bench;

/// <summary>One way from the member to the user function: direct, shm, grpc-tcp or grpc-uds.</summary>
[SupportedOSPlatform("linux")]
internal abstract class BenchPath : IAsyncDisposable
{
    protected BenchPath(string name) => Name = name;

    public string Name { get; }

    /// <summary>The runtime's pid for CPU accounting; this process for <c>direct</c>.</summary>
    public abstract int RuntimePid { get; }

    /// <summary>Whether the runtime is a separate process (its CPU is then reported apart from the member's).</summary>
    public abstract bool IsForked { get; }

    /// <summary>The auth token the runtime expects in Init.</summary>
    public abstract string Token { get; }

    public abstract Task StartAsync(CancellationToken cancellationToken);

    public abstract Task<ISessionChannel> OpenAsync(CancellationToken cancellationToken);

    /// <summary>One fork-to-ready measurement with a fresh runtime (wall and CPU ms); null when the path has no fork.</summary>
    public abstract Task<(double Wall, double Cpu)?> MeasureStartAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>The path, or why it cannot run in this build.</summary>
    public static BenchPath Create(string name, BenchSettings settings) => name switch
    {
        "direct" => new DirectPath(settings),
        "grpc-tcp" => new ForkedPath(name, settings, ForkedPath.Kind.GrpcTcp),
        "grpc-uds" => new ForkedPath(name, settings, ForkedPath.Kind.GrpcUds),
        "shm" => new ForkedPath(name, settings, ForkedPath.Kind.SharedMemory),
        _ when name.StartsWith("shm-", StringComparison.Ordinal) && WaitModes.TryParse(name[4..], out var wait) =>
            new ForkedPath(name, settings, ForkedPath.Kind.SharedMemory, wait),
        _ => throw new ArgumentException($"unknown path '{name}'; known: {string.Join(", ", BenchSettings.AllPaths)}", nameof(name)),
    };
}

[SupportedOSPlatform("linux")]
internal sealed class DirectPath(BenchSettings settings) : BenchPath("direct")
{
    private DirectRuntime? _runtime;

    public override int RuntimePid => Environment.ProcessId;

    public override bool IsForked => false;

    public override string Token => string.Empty;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _runtime = new DirectRuntime(settings.Samples);
        return Task.CompletedTask;
    }

    public override Task<ISessionChannel> OpenAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_runtime!.Open());

    public override Task<(double Wall, double Cpu)?> MeasureStartAsync(CancellationToken cancellationToken) =>
        Task.FromResult<(double, double)?>(null);

    public override ValueTask DisposeAsync()
    {
        _runtime?.Dispose();
        return ValueTask.CompletedTask;
    }
}

[SupportedOSPlatform("linux")]
internal sealed class ForkedPath(string name, BenchSettings settings, ForkedPath.Kind kind, WaitMode wait = WaitMode.Adaptive) : BenchPath(name)
{
    private RuntimeProcess? _runtime;
    private bool _used;

    internal enum Kind
    {
        GrpcTcp,
        GrpcUds,
        SharedMemory,
    }

    public override int RuntimePid => _runtime!.Pid;

    public override bool IsForked => true;

    public override async Task StartAsync(CancellationToken cancellationToken) =>
        _runtime = await StartRuntimeAsync(cancellationToken).ConfigureAwait(false);

    public override async Task<ISessionChannel> OpenAsync(CancellationToken cancellationToken)
    {
        if (kind != Kind.SharedMemory)
        {
            // The member driver's own connector: one HTTP/2 connection per session.
            var ready = new RuntimeReadyInfo(TransportKinds.GrpcName, _runtime!.Address, _runtime.Pid, string.Empty, []);
            return await new GrpcSessionConnector().ConnectAsync(ready, cancellationToken).ConfigureAwait(false);
        }

        // A shared-memory runtime serves one session, then exits: each cell gets a fresh one.
        if (_used)
        {
            await _runtime!.DisposeAsync().ConfigureAwait(false);
            _runtime = await StartRuntimeAsync(cancellationToken).ConfigureAwait(false);
        }

        _used = true;
        return SharedMemorySessionChannel.Open(_runtime!.Address, wait);
    }

    public override async Task<(double Wall, double Cpu)?> MeasureStartAsync(CancellationToken cancellationToken)
    {
        var runtime = await StartRuntimeAsync(cancellationToken).ConfigureAwait(false);
        await runtime.DisposeAsync().ConfigureAwait(false);
        return (runtime.ForkToReadyMs, runtime.CpuToReadyMs);
    }

    public override string Token => _runtime!.Token;

    private Task<RuntimeProcess> StartRuntimeAsync(CancellationToken cancellationToken)
    {
        var unique = $"jex-bench-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32];
        string[] args = kind switch
        {
            Kind.GrpcTcp => ["--UserCode:Transport=grpc", "--UserCode:Grpc:Port=0"],
            Kind.GrpcUds => ["--UserCode:Transport=grpc", "--UserCode:Grpc:Socket=" + Path.Combine(Path.GetTempPath(), unique + ".sock")],
            _ => ["--UserCode:Transport=shared-memory", "--UserCode:Uid=" + unique, "--UserCode:SharedMemory:Wait=" + WaitModes.ToName(wait)],
        };
        return RuntimeProcess.StartAsync(settings.Runtime, settings.Samples, args, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_runtime is not null)
        {
            await _runtime.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>The path cannot run in this build; the report says why instead of faking numbers.</summary>
internal sealed class PathUnavailableException(string message) : Exception(message);

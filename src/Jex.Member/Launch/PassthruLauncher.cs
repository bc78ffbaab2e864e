using System.Net;
using System.Net.Sockets;
using Jex.Protocol.Contract;

namespace Jex.Member.Launch;

/// <summary>
/// Passthru: the runtime was started by someone else; the member only connects to it. There is
/// nothing to start or stop, and "restarting" means reconnecting.
/// </summary>
internal sealed class PassthruLauncher : IRuntimeLauncher
{
    private readonly string _address;
    private readonly TransportKind _transport;

    /// <param name="address">http://host:port, unix:/path, or a shared-memory path.</param>
    /// <param name="transport">How the member reaches the runtime.</param>
    public PassthruLauncher(string address, TransportKind transport = TransportKind.Grpc)
    {
        _address = address;
        _transport = transport;
    }

    /// <summary>
    /// Checks that something answers at the address; when nothing does, fails naming the address
    /// and how to start a runtime there, as <see cref="RuntimeStartException.IsUnreachable"/>: the
    /// driver ends the job when that happens before its first session (a wrong address), and
    /// retries with backoff after one (the runtime someone else runs may be restarting).
    /// </summary>
    public async Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken)
    {
        if (await ProbeAsync(cancellationToken).ConfigureAwait(false) is { } problem)
        {
            throw new RuntimeStartException($"no runtime at {_address}: {problem}; start one with `{StartHint()}`, or check the job's runtime.transport and runtime.service.passthru")
            {
                IsUnreachable = true,
            };
        }

        return new PassthruInstance(new RuntimeReadyInfo(_transport.ToWire(), _address, 0, "", []));
    }

    /// <summary>Null when the address accepts a connection (or exists, for shared memory), else why not.</summary>
    private async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        if (_transport != TransportKind.Grpc)
        {
            return File.Exists(_address) ? null : "the shared-memory file does not exist";
        }

        EndPoint endpoint;
        if (_address.StartsWith("unix:", StringComparison.Ordinal))
        {
            endpoint = new UnixDomainSocketEndPoint(_address["unix:".Length..]);
        }
        else if (Uri.TryCreate(_address, UriKind.Absolute, out var uri) && uri.Port > 0)
        {
            endpoint = new DnsEndPoint(uri.Host, uri.Port);
        }
        else
        {
            // Not an address this probe understands: leave the verdict to the connector.
            return null;
        }

        using var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.AddressNotAvailable or SocketError.HostNotFound => $"cannot resolve or reach the host ({ex.Message})",
                _ => ex.Message,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "no answer within 5 s";
        }
    }

    private string StartHint()
    {
        if (_transport != TransportKind.Grpc)
        {
            return "jex-runtime --UserCode:Transport=shared-memory --UserCode:Uid=... --UserCode:Path=...";
        }

        if (_address.StartsWith("unix:", StringComparison.Ordinal))
        {
            return $"jex-runtime --UserCode:Grpc:Socket={_address["unix:".Length..]} --UserCode:Path=... --UserCode:Token=...";
        }

        var port = Uri.TryCreate(_address, UriKind.Absolute, out var uri) ? uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "PORT";
        return $"jex-runtime --UserCode:Grpc:Port={port} --UserCode:Path=... --UserCode:Token=...";
    }

    private sealed class PassthruInstance(RuntimeReadyInfo ready) : IRuntimeInstance
    {
        public RuntimeReadyInfo Ready { get; } = ready;

        public string Name => $"runtime at {Ready.Address}";

        public Task Exited { get; } = new TaskCompletionSource().Task;

        // Someone else's process: its exit and its output are out of sight.
        public int? ExitCode => null;

        public IReadOnlyList<string> RecentOutput { get; } = [];

        public string OutputSummary => "(passthru: the runtime's output is wherever it was started)";

        public Task StopAsync(TimeSpan grace, CancellationToken cancellationToken) => Task.CompletedTask;

        public void Kill()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

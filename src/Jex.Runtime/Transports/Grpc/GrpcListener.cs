using Jex.Protocol.Contract;
using Jex.Runtime.Deploy;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using HostLog = Jex.Runtime.Diagnostics.HostLog;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// The gRPC transport's lifecycle. Kestrel accepts the calls (<see cref="UserCodeService"/>); this
/// announces the address once Kestrel listens, and on stop, after Kestrel's graceful stop, waits for
/// the Transform calls still open to finish their drain, then removes the Unix socket.
/// </summary>
internal sealed class GrpcListener(
    IServer server, GrpcEndpoint endpoint, GrpcSessions sessions, CodeVersions versions, ILogger<GrpcListener> logger) : ITransportListener
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        string address;
        if (endpoint.SocketPath is { } socketPath)
        {
            File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            address = "unix:" + socketPath;
        }
        else
        {
            address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First();
        }

        var functions = versions.FunctionNames;
        HostLog.Ready(logger, RuntimeInfo.Version, TransportKind.Grpc.ToWire(), address, string.Join(", ", functions));
        // Deploy shares the session listener, so its address is the same.
        ReadyLine.Write(TransportKind.Grpc, address, RuntimeInfo.Version, functions, versions.DeployEnabled ? address : null);
        StartupTrace.Mark("ready line written");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await sessions.WhenIdleAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The drain timeout passed; the calls still open end with the process.
            HostLog.DrainTimedOut(logger, sessions.Open);
        }

        if (endpoint.SocketPath is { } socketPath && File.Exists(socketPath))
        {
            File.Delete(socketPath);
            HostLog.RemovedFile(logger, socketPath);
        }
    }
}

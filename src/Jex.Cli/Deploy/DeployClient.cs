using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Member.Transports.Grpc;
using Jex.Protocol.V1;
using DeployService = Jex.Protocol.V1.Deploy;

namespace Jex.Cli.Deploy;

/// <summary>
/// Calls a runtime's jex.v1.Deploy (protos/jex/v1/deploy.proto): uploads a package in chunks,
/// activates, lists and removes versions. Used by <c>jex deploy</c> and <c>jex run --watch</c>.
/// Every failure is a <see cref="DeployException"/> whose message says what the runtime said and
/// what to do.
/// </summary>
internal sealed class DeployClient : IDisposable
{
    /// <summary>The most package bytes one UploadChunk carries (the runtime refuses more).</summary>
    public const int MaxChunkBytes = 1024 * 1024;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);
    private readonly GrpcChannel? _channel;
    private readonly DeployService.DeployClient _client;
    private readonly Metadata _headers = [];
    private readonly string _address;
    private readonly string? _tokenSource;

    /// <param name="address">http://host:port, https://host:port or unix:/path.</param>
    /// <param name="token">The runtime's UserCode:Token; null or empty to send none.</param>
    /// <param name="tokenSource">Where the token came from, for the PERMISSION_DENIED message (e.g. "$UserCode__Token").</param>
    public DeployClient(string address, string? token, string? tokenSource = null)
        : this(GrpcSessionConnector.CreateChannel(address), address, token, tokenSource)
    {
    }

    /// <summary>For tests: calls go through <paramref name="invoker"/>.</summary>
    internal DeployClient(CallInvoker invoker, string address, string? token, string? tokenSource = null)
    {
        _client = new DeployService.DeployClient(invoker);
        _address = address;
        _tokenSource = tokenSource;
        if (!string.IsNullOrEmpty(token))
        {
            _headers.Add("authorization", "Bearer " + token);
        }
    }

    private DeployClient(GrpcChannel channel, string address, string? token, string? tokenSource)
        : this(channel.CreateCallInvoker(), address, token, tokenSource)
    {
        _channel = channel;
    }

    /// <summary>Sends <paramref name="package"/>, header first, in chunks of at most <see cref="MaxChunkBytes"/>.</summary>
    public async Task<UploadResult> UploadAsync(CodePackage package, string label, CancellationToken cancellationToken)
    {
        try
        {
            using var call = _client.Upload(_headers, Deadline(), cancellationToken);
            var header = new UploadHeader
            {
                Label = label,
                Kind = package.Kind,
                FileName = package.FileName,
                Sha256 = ByteString.CopyFrom(package.Sha256),
                Size = (ulong)package.Bytes.Length,
            };
            var offset = 0;
            do
            {
                var length = Math.Min(MaxChunkBytes, package.Bytes.Length - offset);
                var chunk = new UploadChunk { Data = ByteString.CopyFrom(package.Bytes, offset, length) };
                if (offset == 0)
                {
                    chunk.Header = header;
                }

                await call.RequestStream.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                offset += length;
            }
            while (offset < package.Bytes.Length);

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Describe(ex, $"upload of {package.Source}");
        }
    }

    /// <summary>Makes <paramref name="version"/> current; also the rollback.</summary>
    public async Task<ActivateResult> ActivateAsync(string version, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.ActivateAsync(new ActivateRequest { Version = version }, _headers, Deadline(), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Describe(ex, $"activation of {version}");
        }
    }

    public async Task<ListResult> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _client.ListAsync(new ListRequest(), _headers, Deadline(), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Describe(ex, "listing the versions");
        }
    }

    public async Task RemoveAsync(string version, CancellationToken cancellationToken)
    {
        try
        {
            await _client.RemoveAsync(new RemoveRequest { Version = version }, _headers, Deadline(), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Describe(ex, $"removal of {version}");
        }
    }

    /// <summary>Upload, then Activate: the whole deploy, timed.</summary>
    public async Task<DeployOutcome> DeployAsync(CodePackage package, string label, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var uploaded = await UploadAsync(package, label, cancellationToken).ConfigureAwait(false);
        var uploadTime = clock.Elapsed;
        var activateStarted = Stopwatch.GetTimestamp();
        var activated = await ActivateAsync(uploaded.Version, cancellationToken).ConfigureAwait(false);
        return new DeployOutcome(uploaded, activated, uploadTime, Stopwatch.GetElapsedTime(activateStarted), activateStarted);
    }

    public void Dispose() => _channel?.Dispose();

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    /// <summary>One line: what failed, the runtime's own reason, and what to do.</summary>
    internal DeployException Describe(RpcException ex, string what)
    {
        var detail = string.IsNullOrEmpty(ex.Status.Detail) ? ex.StatusCode.ToString() : ex.Status.Detail;
        var message = ex.StatusCode switch
        {
            StatusCode.PermissionDenied => _headers.Count == 0
                ? $"the runtime at {_address} refused the call without a token (set the token in {_tokenSource ?? "$UserCode__Token"})"
                : $"the runtime at {_address} refused the token (set the right one in {_tokenSource ?? "$UserCode__Token"})",
            StatusCode.Unimplemented => $"the runtime at {_address} does not serve jex.v1.Deploy: start it with --UserCode:Deploy:Enabled=true (jex run --watch does)",
            StatusCode.Unavailable or StatusCode.DeadlineExceeded => $"no runtime answers at {_address} ({detail}): check --address/--socket and that the runtime runs",
            StatusCode.FailedPrecondition => $"{what} was refused, the current version keeps serving: {detail}",
            _ => $"{what} was refused ({StatusName(ex.StatusCode)}): {detail}",
        };
        return new DeployException(message, ex.StatusCode, ex);
    }

    /// <summary>The gRPC spelling, e.g. RESOURCE_EXHAUSTED.</summary>
    internal static string StatusName(StatusCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}

/// <summary>A finished deploy: what was stored, what was activated, and how long each step took.</summary>
/// <param name="Upload">The runtime's answer to Upload.</param>
/// <param name="Activate">The runtime's answer to Activate.</param>
/// <param name="UploadTime">Wall time of the Upload call.</param>
/// <param name="ActivateTime">Wall time of the Activate call: the switch as the caller sees it.</param>
/// <param name="ActivateStarted">Stopwatch timestamp when Activate was sent (the switch latency counts from here).</param>
internal sealed record DeployOutcome(UploadResult Upload, ActivateResult Activate, TimeSpan UploadTime, TimeSpan ActivateTime, long ActivateStarted);

/// <summary>A Deploy call failed; the message is one line for the user.</summary>
internal sealed class DeployException(string message, StatusCode status, Exception? inner = null) : Exception(message, inner)
{
    public StatusCode Status { get; } = status;

    /// <summary>Nothing answered at the address (as opposed to a runtime that refused).</summary>
    public bool IsUnreachable => Status is StatusCode.Unavailable or StatusCode.DeadlineExceeded;
}

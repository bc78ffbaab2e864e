using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Microsoft.Extensions.Options;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// jex.v1.Deploy (protos/jex/v1/deploy.proto): mapped only when UserCode:Deploy:Enabled is true,
/// so a runtime without it answers UNIMPLEMENTED. Every call must carry
/// <c>authorization: Bearer TOKEN</c> with the runtime's token, compared in constant time, before
/// anything is read. The work is in <see cref="VersionStore"/> and <see cref="CodeVersions"/>.
/// </summary>
internal sealed class DeployService : Protocol.V1.Deploy.DeployBase
{
    private const string BearerPrefix = "Bearer ";

    private readonly CodeVersions _versions;
    private readonly VersionStore _store;
    private readonly byte[] _expected;
    private readonly ILogger _logger;

    public DeployService(CodeVersions versions, VersionStore store, IOptions<UserCodeOptions> options, ILoggerFactory loggerFactory)
    {
        _versions = versions;
        _store = store;
        // The validator refuses deploy without a token; an empty one here would match nothing.
        _expected = Encoding.UTF8.GetBytes(BearerPrefix + (options.Value.Token ?? string.Empty));
        _logger = loggerFactory.CreateLogger("Jex.Runtime.Deploy");
    }

    public override async Task<UploadResult> Upload(IAsyncStreamReader<UploadChunk> requestStream, ServerCallContext context)
    {
        Authorize(context);
        try
        {
            using var upload = _store.BeginUpload();
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                upload.Add(requestStream.Current);
            }

            var version = upload.Complete(_versions.NextId);
            _versions.Add(version);
            return new UploadResult { Version = version.Id, Files = (uint)version.Files, Bytes = (ulong)version.Bytes };
        }
        catch (DeployException e)
        {
            throw new RpcException(new Status(e.Status, e.Message));
        }
    }

    public override async Task<ActivateResult> Activate(ActivateRequest request, ServerCallContext context)
    {
        Authorize(context);
        try
        {
            return await _versions.ActivateAsync(request.Version, context.CancellationToken).ConfigureAwait(false);
        }
        catch (DeployException e)
        {
            throw new RpcException(new Status(e.Status, e.Message));
        }
    }

    public override Task<ListResult> List(ListRequest request, ServerCallContext context)
    {
        Authorize(context);
        return Task.FromResult(_versions.List());
    }

    public override Task<RemoveResult> Remove(RemoveRequest request, ServerCallContext context)
    {
        Authorize(context);
        try
        {
            _store.Delete(_versions.Remove(request.Version));
            return Task.FromResult(new RemoveResult());
        }
        catch (DeployException e)
        {
            throw new RpcException(new Status(e.Status, e.Message));
        }
    }

    private void Authorize(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), _expected))
        {
            return;
        }

        var reason = header is null
            ? "the call carries no authorization metadata; send \"authorization: Bearer TOKEN\" with the runtime's UserCode:Token (jex deploy --token-env VAR)"
            : "the call's authorization metadata is not \"Bearer \" and this runtime's UserCode:Token; send the runtime's token";
        Log.DeployCallRefused(_logger, reason);
        throw new RpcException(new Status(StatusCode.PermissionDenied, reason));
    }
}

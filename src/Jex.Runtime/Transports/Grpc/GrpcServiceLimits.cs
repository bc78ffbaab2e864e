using Grpc.AspNetCore.Server;
using Jex.Runtime.Configuration;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Transports.Grpc;

/// <summary>
/// grpc-dotnet's message limits from the runtime's options, so the validated UserCode:MaxMessageBytes
/// is the one limit both ways. Detailed errors stay off: an exception's text is not the member's business.
/// </summary>
internal sealed class GrpcServiceLimits(IOptions<UserCodeOptions> options) : IConfigureOptions<GrpcServiceOptions>
{
    public void Configure(GrpcServiceOptions grpc)
    {
        var limit = options.Value.MaxMessageBytes;
        grpc.MaxReceiveMessageSize = limit;
        grpc.MaxSendMessageSize = limit;
        grpc.EnableDetailedErrors = false;
    }
}

using Jex.Runtime.Configuration;
using Jex.Runtime.UserCode;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Where transports other than gRPC, and codecs other than the built-in ones, plug into startup.
/// gRPC is always on; the others register here.
/// </summary>
internal static class TransportRegistry
{
    public static bool IsAvailable(string transport) => false;

    public static void ConfigureCodecs(PayloadCodecs codecs)
    {
    }

    public static void ConfigureKestrel(KestrelServerOptions kestrel, UserCodeOptions options)
    {
    }

    public static void MapEndpoints(WebApplication app, UserCodeOptions options)
    {
    }
}

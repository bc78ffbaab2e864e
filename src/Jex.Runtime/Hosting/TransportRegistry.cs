using Jex.Runtime.Configuration;
using Jex.Runtime.Transports.SharedMemory;
using Jex.Runtime.UserCode;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Where transports other than gRPC, and codecs other than the built-in ones, plug into startup.
/// gRPC is always on; the others register here.
/// </summary>
internal static class TransportRegistry
{
    public static bool IsAvailable(string transport) =>
        string.Equals(transport, "shared-memory", StringComparison.OrdinalIgnoreCase);

    public static void ConfigureCodecs(PayloadCodecs codecs)
    {
    }

    public static void ConfigureKestrel(KestrelServerOptions kestrel, UserCodeOptions options)
    {
        if (SharedMemoryListener.IsSharedMemory(options))
        {
            SharedMemoryListener.ConfigureKestrel(kestrel);
        }
    }

    public static void MapEndpoints(WebApplication app, UserCodeOptions options)
    {
        if (SharedMemoryListener.IsSharedMemory(options))
        {
            SharedMemoryListener.Attach(app, options);
        }
    }
}

using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Transports.SharedMemory;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Where transports other than gRPC plug into startup.
/// gRPC is always on; the others register here.
/// </summary>
internal static class TransportRegistry
{
    public static bool IsAvailable(TransportKind transport) => transport == TransportKind.SharedMemory;

    public static void ConfigureKestrel(KestrelServerOptions kestrel, UserCodeOptions options)
    {
        if (SharedMemoryListener.IsSharedMemory(options))
        {
            SharedMemoryListener.ConfigureKestrel(kestrel, options);
        }
    }

    /// <summary>Whether the configured transport starts before the host (<see cref="StartEarly"/>).</summary>
    public static bool StartsEarly(UserCodeOptions options) => SharedMemoryListener.IsSharedMemory(options);

    /// <summary>
    /// Starts a transport that serves before the host is built (shared memory), with its own
    /// session processor; returns null for gRPC, which the host serves. The host stops the
    /// listener like any other once it is built (<see cref="EarlyTransport.Listener"/>).
    /// </summary>
    public static EarlyTransport? StartEarly(UserCodeOptions options, CodeVersions versions, ILoggerFactory loggerFactory, EarlyLifetime lifetime)
    {
        if (!SharedMemoryListener.IsSharedMemory(options))
        {
            return null;
        }

        var processor = new SessionProcessor(versions, Microsoft.Extensions.Options.Options.Create(options), new RuntimeCounters(), loggerFactory, lifetime);
        return new EarlyTransport(processor, SharedMemoryListener.Start(options, processor, lifetime, loggerFactory));
    }
}

/// <summary>A transport already serving before the host exists, and the processor behind it.</summary>
internal sealed record EarlyTransport(SessionProcessor Processor, ITransportListener Listener);

using System.Buffers;
using System.Net;
using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Hosting;
using Jex.Transport.SharedMemory;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// The shared-memory face of the session processor. The runtime creates the file for
/// UserCode:Uid, announces it in the ready line and serves one session over the rings: a reader
/// thread turns frames into MemberMessages, <see cref="RingOutput"/> writes RuntimeMessages, and a
/// rejection or the end of the session becomes a SessionClosed message (rings have no status).
/// One file serves one member: when the session ends or the member dies, the runtime removes the
/// files and stops. SIGTERM drains through the processor, then removes the files.
/// </summary>
internal sealed class SharedMemoryListener
{
    private const int IncomingCapacity = 64;

    private readonly SharedMemoryChannel _channel;
    private readonly SessionProcessor _processor;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly Channel<MemberMessage> _incoming = Channel.CreateBounded<MemberMessage>(
        new BoundedChannelOptions(IncomingCapacity) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _transport = new();
    private Task _session = Task.CompletedTask;
    private int _received;

    private SharedMemoryListener(SharedMemoryChannel channel, SessionProcessor processor, IHostApplicationLifetime lifetime, ILogger logger)
    {
        _channel = channel;
        _processor = processor;
        _lifetime = lifetime;
        _logger = logger;
    }

    public static bool IsSharedMemory(UserCodeOptions options) =>
        string.Equals(options.Transport, "shared-memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>Kestrel still hosts health checks; on loopback port 0 so runtimes never collide.</summary>
    public static void ConfigureKestrel(KestrelServerOptions kestrel) =>
        kestrel.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);

    /// <summary>Creates the file now (a failure stops startup) and serves once the host has started.</summary>
    public static void Attach(WebApplication app, UserCodeOptions options)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime.SharedMemory");
        var channel = SharedMemoryChannel.Create(options.Uid!, new SharedMemoryOptions { MaxMessageBytes = options.MaxMessageBytes });
        var ring0 = new SharedMemoryOptions();
        Log.SharedMemoryCreated(logger, channel.Path, ring0.MemberToRuntimeCapacity, ring0.RuntimeToMemberCapacity);
        var listener = new SharedMemoryListener(channel, app.Services.GetRequiredService<SessionProcessor>(), app.Lifetime, logger);
        var catalog = listener._processor.Catalog;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            listener._session = listener.ServeAsync();
            Log.Ready(logger, RuntimeInfo.Version, "shared-memory", channel.Path, string.Join(", ", catalog.Names));
            ReadyLine.Write("shared-memory", channel.Path, catalog.Names);
        });
        // Stopping waits (within the host's drain timeout) for the session, which the processor
        // drains on ApplicationStopping; then the files go.
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            if (Volatile.Read(ref listener._received) == 0)
            {
                // No member ever spoke: there is nothing to drain.
                listener._transport.Cancel();
            }

            _ = listener._session.Wait(TimeSpan.FromSeconds(options.DrainTimeoutSeconds));
            listener._transport.Cancel();
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            listener._transport.Cancel();
            channel.Dispose();
            Log.RemovedFile(logger, channel.Path);
        });
    }

    private async Task ServeAsync()
    {
        _channel.PeerLost += reason =>
        {
            Log.SharedMemoryPeerLost(_logger, reason);
            _transport.Cancel();
        };
        var reader = new Thread(ReadLoop) { IsBackground = true, Name = "jex-shm-runtime-reader" };
        reader.Start();
        var output = new RingOutput(_channel.Outbound);
        var closed = new SessionClosed { Code = 0, Message = "session ended" };
        try
        {
            await _processor.RunAsync(_incoming.Reader.ReadAllAsync(_transport.Token), output, _transport.Token).ConfigureAwait(false);
        }
        catch (SessionRejectedException e)
        {
            closed = new SessionClosed { Code = (int)e.StatusCode, Message = e.Message };
        }
        catch (OperationCanceledException) when (_transport.IsCancellationRequested)
        {
            closed = new SessionClosed { Code = 14, Message = _channel.Peer.Reason ?? "the transport closed" };
        }
        catch (Exception e) when (e is SharedMemoryPeerLostException or SharedMemoryFormatException)
        {
            Log.SharedMemorySessionFailed(_logger, e);
            closed = new SessionClosed { Code = 14, Message = e.Message };
        }

        if (!_channel.Peer.IsLost)
        {
            try
            {
                await output.WriteAsync(new RuntimeMessage { Closed = closed }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SharedMemoryPeerLostException)
            {
            }
        }

        Log.SharedMemorySessionEnded(_logger, closed.Code, closed.Message);
        // Queued, not called: during shutdown the host holds its stopping lock while our stopping
        // callback waits for this task, so a direct call here would deadlock.
        if (!_lifetime.ApplicationStopping.IsCancellationRequested)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static lifetime => lifetime.StopApplication(), _lifetime, preferLocal: false);
        }
    }

    private void ReadLoop()
    {
        var inbound = _channel.Inbound;
        var writer = _incoming.Writer;
        Exception? failure = null;
        MessageHandler deliver = span =>
        {
            var message = MemberMessage.Parser.ParseFrom(span);
            Volatile.Write(ref _received, 1);
            if (!writer.TryWrite(message))
            {
                // The processor is behind: block this thread, which leaves frames in the ring and so
                // pushes back on the member.
                writer.WriteAsync(message, _transport.Token).AsTask().GetAwaiter().GetResult();
            }
        };

        try
        {
            while (true)
            {
                inbound.WaitForData(_transport.Token);
                inbound.Drain(deliver);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
        {
            // The member left or died: the incoming stream ends; the session processor finishes.
        }
        catch (Exception e) when (e is SharedMemoryFormatException or InvalidProtocolBufferException)
        {
            failure = e;
            Log.SharedMemorySessionFailed(_logger, e);
            _transport.Cancel();
        }

        writer.TryComplete(failure);
    }

    /// <summary>Serializes each message straight into the runtime-to-member ring and wakes the member if it sleeps.</summary>
    private sealed class RingOutput(RingProducer ring) : ISessionOutput
    {
        public ValueTask WriteAsync(RuntimeMessage message, CancellationToken cancellationToken)
        {
            var size = message.CalculateSize();
            if (size <= ring.MaxFramePayload)
            {
                message.WriteTo(ring.Claim(size, cancellationToken));
                ring.Commit();
            }
            else
            {
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    message.WriteTo(buffer.AsSpan(0, size));
                    ring.Write(buffer.AsSpan(0, size), cancellationToken);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            ring.Flush();
            return ValueTask.CompletedTask;
        }
    }
}

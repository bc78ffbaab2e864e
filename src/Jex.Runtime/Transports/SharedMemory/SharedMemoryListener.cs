using System.Net;
using System.Threading.Channels;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.Hosting;
using Jex.Transport.SharedMemory;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StatusCode = Grpc.Core.StatusCode;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// The shared-memory face of the session processor. The runtime creates the file for UserCode:Uid
/// with UserCode:SharedMemory:Sessions slots and announces it in the ready line. One dedicated thread
/// per slot waits (blocked on the slot's doorbell, no CPU) for a member to claim the slot and speak,
/// then reads its frames into the processor, while <see cref="RingOutput"/> writes RuntimeMessages
/// straight into the slot's outbound ring. A rejection or the end of the session becomes a
/// SessionClosed message (rings have no status). When that member closes the slot, the thread
/// recycles it for the next member. A member that dies (kill -9) takes the runtime with it: the
/// runtime removes its files and stops, as a forked runtime must not outlive its member.
/// SIGTERM drains every session through the processor, then removes the files.
/// </summary>
internal sealed class SharedMemoryListener
{
    private const int IncomingCapacity = 64;

    private readonly SharedMemoryChannel _channel;
    private readonly SessionProcessor _processor;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _sessions;
    private readonly Thread[] _threads;

    private SharedMemoryListener(SharedMemoryChannel channel, SessionProcessor processor, IHostApplicationLifetime lifetime, ILogger logger)
    {
        _channel = channel;
        _processor = processor;
        _lifetime = lifetime;
        _logger = logger;
        _sessions = [.. channel.Slots.Select(_ => Task.CompletedTask)];
        _threads = [.. channel.Slots.Select(slot => new Thread(() => ServeSlot(slot)) { IsBackground = true, Name = $"jex-shm-slot-{slot.Index}" })];
        channel.MemberLost += OnMemberLost;
    }

    public static bool IsSharedMemory(UserCodeOptions options) =>
        string.Equals(options.Transport, "shared-memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>Kestrel still hosts health checks; on loopback port 0 so runtimes never collide.</summary>
    public static void ConfigureKestrel(KestrelServerOptions kestrel) =>
        kestrel.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);

    /// <summary>Creates the file and starts serving now (a failure stops startup), before the host starts.</summary>
    public static void Attach(WebApplication app, UserCodeOptions options)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime.SharedMemory");
        var shm = options.SharedMemory;
        var channel = SharedMemoryChannel.Create(options.Uid!, new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = shm.RingBytes,
            RuntimeToMemberCapacity = shm.RingBytes,
            MaxMessageBytes = options.MaxMessageBytes,
            Sessions = shm.Sessions,
        });
        Log.SharedMemoryCreated(logger, channel.Path, shm.Sessions, shm.RingBytes);
        var listener = new SharedMemoryListener(channel, app.Services.GetRequiredService<SessionProcessor>(), app.Lifetime, logger);
        var catalog = listener._processor.Catalog;
        // Serving needs only the file, the slot threads and the processor, all there now: the member
        // may connect before Kestrel (health checks only, for this transport) has started, which
        // takes Kestrel's start off the fork-to-ready path.
        foreach (var thread in listener._threads)
        {
            thread.Start();
        }

        Log.Ready(logger, RuntimeInfo.Version, "shared-memory", channel.Path, string.Join(", ", catalog.Names));
        ReadyLine.Write("shared-memory", channel.Path, catalog.Names);
        // Stopping: the processor drains every session (Drained, then SessionClosed), bounded by the
        // drain timeout; then the slot threads stop and the files go.
        ExitCleanup.Register(channel.RemoveFiles);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            _ = Task.WaitAll(listener._sessions, TimeSpan.FromSeconds(options.DrainTimeoutSeconds));
            listener._stop.Cancel();
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            listener._stop.Cancel();
            channel.Close();
            foreach (var thread in listener._threads)
            {
                if (thread.IsAlive && !thread.Join(TimeSpan.FromSeconds(5)))
                {
                    // A thread stuck in user code must not keep the mapping alive forever; leave it mapped.
                    channel.RemoveFiles();
                    return;
                }
            }

            channel.Dispose();
            Log.RemovedFile(logger, channel.Path);
        });
    }

    private void OnMemberLost(SharedMemorySlot slot, string reason, bool died)
    {
        Log.SharedMemoryPeerLost(_logger, reason);
        if (!died)
        {
            return;
        }

        // The member that forked us is gone: nobody can reach this runtime any more.
        Log.SharedMemoryMemberDied(_logger, reason);
        _channel.RemoveFiles();
        ParentWatcher.StartForcedExitBackstop(_lifetime.ApplicationStopped);
        // Queued, not called: the host's stop takes locks that a monitor-thread caller must not hold up.
        ThreadPool.UnsafeQueueUserWorkItem(static lifetime => lifetime.StopApplication(), _lifetime, preferLocal: false);
    }

    /// <summary>The life of one slot: wait for a member, serve its session, recycle the slot, repeat.</summary>
    private void ServeSlot(SharedMemorySlot slot)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                slot.Inbound.WaitForData(_stop.Token);
                ServeOccupancy(slot);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SharedMemoryPeerLostException)
            {
                // A member claimed the slot and left (or died) before it said anything.
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            slot.Recycle();
            Log.SharedMemorySlotRecycled(_logger, slot.Index);
        }
    }

    /// <summary>Serves the member holding the slot until it closes or dies (or the runtime stops).</summary>
    private void ServeOccupancy(SharedMemorySlot slot)
    {
        var incoming = Channel.CreateBounded<MemberFrame>(new BoundedChannelOptions(IncomingCapacity) { SingleReader = true, SingleWriter = true });
        using var transport = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, slot.Peer.LostToken);
        var output = new RingOutput(slot.Outbound);
        var session = RunSessionAsync(slot, incoming, output, transport.Token);
        _sessions[slot.Index] = session;
        var writer = incoming.Writer;
        var inbound = slot.Inbound;
        MessageHandler deliver = span =>
        {
            if (session.IsCompleted)
            {
                return; // The session is over: what the member still sends has no one to go to.
            }

            // One copy out of the ring into a pooled buffer; the dispatcher reads it in place.
            var message = MemberFrame.Copy(span);
            try
            {
                if (!writer.TryWrite(message))
                {
                    // The processor is behind: block this thread, which leaves frames in the ring and so
                    // pushes back on the member.
                    writer.WriteAsync(message, transport.Token).AsTask().GetAwaiter().GetResult();
                }
            }
            catch (ChannelClosedException)
            {
            }
        };

        try
        {
            while (true)
            {
                inbound.WaitForData(transport.Token);
                _ = inbound.Drain(deliver);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
        {
            // The member left or died, or the runtime stops: the incoming stream ends.
            writer.TryComplete();
        }
        catch (SharedMemoryFormatException e)
        {
            // The ring itself is broken: nothing more can be read from this occupancy.
            Log.SharedMemorySessionFailed(_logger, e);
            writer.TryComplete(new SessionRejectedException(StatusCode.Internal, e.Message));
            WaitHandle.WaitAny([slot.Peer.LostToken.WaitHandle, _stop.Token.WaitHandle]);
        }

        // The member is gone, so the session's remaining writes can reach no one: bounded wait.
        if (!session.Wait(TimeSpan.FromSeconds(10)))
        {
            Log.SharedMemorySessionFailed(_logger, new TimeoutException($"slot {slot.Index}: the session did not end within 10 s of its member leaving"));
        }

        // Fence off a straggling writer before the slot is recycled under it.
        output.Close();
    }

    private async Task RunSessionAsync(SharedMemorySlot slot, Channel<MemberFrame> incoming, RingOutput output, CancellationToken transport)
    {
        // Off the slot thread, which goes on to read the ring.
        await Task.Yield();
        var closed = new SessionClosed { Code = 0, Message = "session ended" };
        try
        {
            await _processor.RunAsync(incoming.Reader.ReadAllAsync(transport), output, transport).ConfigureAwait(false);
        }
        catch (SessionRejectedException e)
        {
            closed = new SessionClosed { Code = (int)e.StatusCode, Message = e.Message };
        }
        catch (OperationCanceledException) when (transport.IsCancellationRequested)
        {
            closed = new SessionClosed { Code = (int)StatusCode.Unavailable, Message = slot.Peer.Reason ?? "the runtime is stopping" };
        }
        catch (Exception e) when (e is SharedMemoryPeerLostException or SharedMemoryFormatException)
        {
            closed = new SessionClosed { Code = (int)StatusCode.Unavailable, Message = e.Message };
        }
        finally
        {
            incoming.Writer.TryComplete();
        }

        if (!slot.Peer.IsLost)
        {
            try
            {
                var frame = RuntimeFrame.From(new RuntimeMessage { Closed = closed });
                await output.WriteAsync(frame, moreFollows: false, CancellationToken.None).ConfigureAwait(false);
                frame.Release();
            }
            catch (SharedMemoryPeerLostException)
            {
            }
        }

        Log.SharedMemorySessionEnded(_logger, slot.Index, closed.Code, closed.Message);
    }

    /// <summary>
    /// Copies each encoded message into the runtime-to-member ring, fragmented when it exceeds a
    /// frame, and publishes (waking the member only if it sleeps) when no other message follows at
    /// once. One writer at a time (the session's write loop); the lock is uncontended and only
    /// fences off a write racing the recycle.
    /// </summary>
    private sealed class RingOutput(RingProducer ring) : ISessionOutput
    {
        private readonly Lock _gate = new();
        private bool _closed;

        public ValueTask WriteAsync(RuntimeFrame frame, bool moreFollows, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    throw new SharedMemoryPeerLostException($"{ring}: the session's member has left.");
                }

                ring.Write(frame.Span, cancellationToken);
                if (!moreFollows)
                {
                    ring.Flush();
                }
            }

            return ValueTask.CompletedTask;
        }

        public void Close()
        {
            lock (_gate)
            {
                _closed = true;
            }
        }
    }
}

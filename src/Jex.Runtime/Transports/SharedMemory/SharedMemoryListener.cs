using System.Net;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.Hosting;
using Jex.Runtime.UserCode;
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
    private readonly SharedMemoryChannel _channel;
    private readonly SessionProcessor _processor;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();

    // Cancelled first when the runtime stops: sessions stop reading and drain what they accepted.
    private readonly CancellationTokenSource _stopReading = new();
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

    /// <summary>
    /// Creates the file, starts serving and writes the ready line, all before the host is built (a
    /// failure stops startup): serving needs only the file, the slot threads and the processor, so
    /// building the host and starting Kestrel (health checks only, on this transport) are off the
    /// fork-to-ready path. <paramref name="lifetime"/> follows the host once it exists.
    /// </summary>
    public static void Start(UserCodeOptions options, SessionProcessor processor, IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("Jex.Runtime.SharedMemory");
        var shm = options.SharedMemory;
        var channel = SharedMemoryChannel.Create(options.Uid!, new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = shm.RingBytes,
            RuntimeToMemberCapacity = shm.RingBytes,
            MaxMessageBytes = options.MaxMessageBytes,
            Sessions = shm.Sessions,
        });
        ExitCleanup.Register(channel.RemoveFiles);
        Log.SharedMemoryCreated(logger, channel.Path, shm.Sessions, shm.RingBytes);
        var listener = new SharedMemoryListener(channel, processor, lifetime, logger);
        var catalog = processor.Catalog;

        // Stopping: sessions stop reading and the processor drains each (Drained, then
        // SessionClosed), bounded by the drain timeout; then the slot threads stop and the files go.
        lifetime.ApplicationStopping.Register(() =>
        {
            listener._stopReading.Cancel();
            _ = Task.WaitAll(listener._sessions, TimeSpan.FromSeconds(options.DrainTimeoutSeconds));
            listener._stop.Cancel();
        });
        lifetime.ApplicationStopped.Register(() =>
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

        foreach (var thread in listener._threads)
        {
            thread.Start();
        }

        Log.Ready(logger, RuntimeInfo.Version, "shared-memory", channel.Path, string.Join(", ", catalog.Names));
        ReadyLine.Write("shared-memory", channel.Path, catalog.Names);
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

    /// <summary>
    /// Serves the member holding the slot until it closes or dies (or the runtime stops). The session
    /// runs on this thread for as long as it can: it reads the ring here, and a small batch runs and
    /// answers here too, with no thread hand-off. When the session waits on something else, its reads
    /// come back to this thread through <see cref="SlotReader.ServeUntil"/>.
    /// </summary>
    private void ServeOccupancy(SharedMemorySlot slot)
    {
        using var transport = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, slot.Peer.LostToken);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(transport.Token, _stopReading.Token);
        var output = new RingOutput(slot.Outbound);
        var reader = new SlotReader(slot.Inbound, reading.Token);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sessions[slot.Index] = done.Task;
        var session = RunSessionAsync(slot, reader, output, transport.Token, done);
        reader.ServeUntil(session);

        if (reader.Broken)
        {
            // The ring itself is broken: nothing more can be read from this occupancy.
            WaitHandle.WaitAny([slot.Peer.LostToken.WaitHandle, _stop.Token.WaitHandle]);
        }
        else
        {
            try
            {
                // The session is over; what the member still sends has no one to go to. Wait for it
                // to close the slot (or die), or for the runtime to stop.
                while (true)
                {
                    slot.Inbound.WaitForData(transport.Token);
                    _ = slot.Inbound.Drain(static _ => { });
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException or SharedMemoryFormatException)
            {
            }
        }

        // The member is gone, so the session's remaining writes can reach no one: bounded wait.
        if (!session.Wait(TimeSpan.FromSeconds(10)))
        {
            Log.SharedMemorySessionFailed(_logger, new TimeoutException($"slot {slot.Index}: the session did not end within 10 s of its member leaving"));
        }

        // Fence off a straggling writer before the slot is recycled under it.
        output.Close();
        reader.Dispose();
    }

    private async Task RunSessionAsync(SharedMemorySlot slot, SlotReader incoming, RingOutput output, CancellationToken transport, TaskCompletionSource done)
    {
        try
        {
            await RunSessionCoreAsync(slot, incoming, output, transport).ConfigureAwait(false);
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private async Task RunSessionCoreAsync(SharedMemorySlot slot, SlotReader incoming, RingOutput output, CancellationToken transport)
    {
        var closed = new SessionClosed { Code = 0, Message = "session ended" };
        try
        {
            await _processor.RunAsync(incoming, output, transport).ConfigureAwait(false);
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
    /// The session's incoming messages, read straight from the slot's member-to-runtime ring by the
    /// slot's thread. On that thread a read blocks in the ring's wait (spin, then the doorbell); from
    /// any other thread (the session continuing after an await) the read is handed to the slot
    /// thread, whose <see cref="ServeUntil"/> performs it and resumes the session there. So reads stay
    /// on one thread (the ring has one consumer) and never block a thread-pool thread. Reads end,
    /// returning false, when the member leaves or dies or the runtime stops.
    /// </summary>
    private sealed class SlotReader : IAsyncEnumerable<MemberFrame>, IAsyncEnumerator<MemberFrame>, IInlineSource, IDisposable
    {
        private readonly RingConsumer _ring;
        private readonly CancellationToken _stopReading;
        private readonly Thread _home = Thread.CurrentThread;
        private readonly Queue<MemberFrame> _ready = new();
        private readonly ManualResetEventSlim _wake = new(false);
        private readonly MessageHandler _deliver;
        private TaskCompletionSource<bool>? _pending;
        private CancellationTokenSource? _reading;

        public SlotReader(RingConsumer ring, CancellationToken stopReading)
        {
            _ring = ring;
            _stopReading = stopReading;
            // One copy out of the ring into a pooled buffer; the dispatcher reads it in place.
            _deliver = span => _ready.Enqueue(MemberFrame.Copy(span));
        }

        public MemberFrame Current { get; private set; } = null!;

        /// <summary>The ring's contents could not be read: the occupancy is over.</summary>
        public bool Broken { get; private set; }

        public IAsyncEnumerator<MemberFrame> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            _reading = CancellationTokenSource.CreateLinkedTokenSource(_stopReading, cancellationToken);
            return this;
        }

        public ValueTask<bool> MoveNextAsync()
        {
            if (Thread.CurrentThread == _home)
            {
                return new(Read());
            }

            var pending = new TaskCompletionSource<bool>();
            Volatile.Write(ref _pending, pending);
            _wake.Set();
            return new(pending.Task);
        }

        /// <summary>The slot thread: performs reads asked from other threads until the session ends.</summary>
        public void ServeUntil(Task session)
        {
            _ = session.ContinueWith(static (_, wake) => ((ManualResetEventSlim)wake!).Set(), _wake,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (!session.IsCompleted)
            {
                _wake.Wait();
                _wake.Reset();
                if (Interlocked.Exchange(ref _pending, null) is not { } pending)
                {
                    continue;
                }

                bool result;
                try
                {
                    result = Read();
                }
                catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
                {
                    pending.SetException(e);
                    continue;
                }

                // The session resumes here, on this thread, until it next waits on something else.
                pending.SetResult(result);
            }
        }

        private bool Read()
        {
            try
            {
                var token = _reading?.Token ?? _stopReading;
                while (_ready.Count == 0)
                {
                    _ring.WaitForData(token);
                    _ = _ring.Drain(_deliver);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
            {
                // The member left or died, or the runtime stops: the incoming stream ends.
                return false;
            }
            catch (SharedMemoryFormatException e)
            {
                Broken = true;
                throw new SessionRejectedException(StatusCode.Internal, e.Message);
            }

            Current = _ready.Dequeue();
            return true;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        /// <summary>Frames read but never taken go back to the pool.</summary>
        public void Dispose()
        {
            while (_ready.TryDequeue(out var frame))
            {
                frame.Release();
            }

            _wake.Dispose();
            _reading?.Dispose();
        }
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

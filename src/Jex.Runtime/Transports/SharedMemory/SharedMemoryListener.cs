using System.Net;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.Hosting;
using Jex.Runtime.UserCode;
using Jex.Transport.SharedMemory;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StatusCode = Grpc.Core.StatusCode;
using HostLog = Jex.Runtime.Diagnostics.HostLog;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// The shared-memory face of the session processor. The runtime creates the file for UserCode:Uid
/// with UserCode:SharedMemory:Sessions slots and announces it in the ready line. One dedicated thread
/// per slot waits (blocked on the slot's doorbell, no CPU) for a member to claim the slot and speak,
/// then reads its frames into the processor, while <see cref="RingOutput"/> writes RuntimeMessages
/// straight into the slot's outbound ring. A rejection or the end of the session becomes a
/// SessionClosed message (rings have no status). When that member closes the slot, the thread
/// recycles it for the next member. Nothing a member does to its slot reaches another slot: a
/// member that dies (kill -9) or goes silent, or writes what the ring layout forbids (a protocol
/// violation, logged with its code), loses its slot and session only; the slot is recycled and
/// the other slots keep serving. A forked runtime still does not outlive the member that started
/// it: that is UserCode:ParentPid's job (ParentWatcher). SIGTERM drains every session through the
/// processor, then removes the files.
/// </summary>
internal sealed class SharedMemoryListener
{
    private readonly SharedMemoryChannel _channel;
    private readonly SessionProcessor _processor;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();

    // Cancelled first when the runtime stops: sessions stop reading and drain what they accepted.
    private readonly CancellationTokenSource _stopReading = new();
    private readonly Task[] _sessions;
    private readonly Thread[] _threads;

    /// <summary>
    /// How long a member that broke its ring's rules has to take its SessionClosed and release the
    /// slot before the runtime ends the occupancy anyway and frees the slot for the next member.
    /// </summary>
    internal static readonly TimeSpan ViolationGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The largest first message a slot reads before the session saw Init: an Init is small, and a
    /// peer that has not yet said who it is must not make the runtime buffer up to UserCode:MaxMessageBytes.
    /// </summary>
    internal const int FirstMessageLimit = 1 << 20;

    private SharedMemoryListener(SharedMemoryChannel channel, SessionProcessor processor, ILogger logger)
    {
        _channel = channel;
        _processor = processor;
        _logger = logger;
        _sessions = [.. channel.Slots.Select(_ => Task.CompletedTask)];
        _threads = [.. channel.Slots.Select(slot => new Thread(() => ServeSlot(slot)) { IsBackground = true, Name = $"jex-shm-slot-{slot.Index}" })];
        channel.MemberLost += OnMemberLost;
    }

    public static bool IsSharedMemory(UserCodeOptions options) =>
        TransportKinds.Is(options.Transport, TransportKind.SharedMemory);

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
        HostLog.SharedMemoryCreated(logger, channel.Path, shm.Sessions, shm.RingBytes);
        var listener = new SharedMemoryListener(channel, processor, logger);
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
            HostLog.RemovedFile(logger, channel.Path);
        });

        foreach (var thread in listener._threads)
        {
            thread.Start();
        }

        HostLog.Ready(logger, RuntimeInfo.Version, TransportKind.SharedMemory.ToWire(), channel.Path, string.Join(", ", catalog.Names));
        ReadyLine.Write(TransportKind.SharedMemory, channel.Path, RuntimeInfo.Version, catalog.Names);
    }

    /// <summary>
    /// A member that closed, died or went silent loses its own slot only: the monitor has already woken
    /// the slot's waiters, so its session ends and the slot thread recycles the slot. Whether the runtime
    /// itself should go is decided by UserCode:ParentPid alone, so one member's crash never ends the
    /// sessions of the others.
    /// </summary>
    private void OnMemberLost(SharedMemorySlot slot, string reason, bool died)
    {
        if (died)
        {
            HostLog.SharedMemoryMemberDied(_logger, slot.Index, reason);
        }
        else
        {
            HostLog.SharedMemoryPeerLost(_logger, reason);
        }
    }

    /// <summary>
    /// The life of one slot: wait for a member, serve its session, recycle the slot, repeat. Nothing
    /// escapes this loop: an exception here would end the process, and with it every other slot.
    /// </summary>
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
            catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
            {
                HostLog.SharedMemorySlotFailed(_logger, e, slot.Index);
                WaitForRelease(slot);
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                slot.Recycle();
                HostLog.SharedMemorySlotRecycled(_logger, slot.Index);
            }
            catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
            {
                HostLog.SharedMemorySlotFailed(_logger, e, slot.Index);
                // Nothing else can be done for the slot; do not spin on it.
                _ = _stop.Token.WaitHandle.WaitOne(ViolationGrace);
            }
        }
    }

    /// <summary>
    /// After its session was ended for a fault of its member, the slot is left to that member for
    /// <see cref="ViolationGrace"/> to read the SessionClosed and release it; then it is taken back.
    /// </summary>
    private void WaitForRelease(SharedMemorySlot slot)
    {
        var peer = slot.Peer;
        if (WaitHandle.WaitAny([peer.LostToken.WaitHandle, _stop.Token.WaitHandle], ViolationGrace) == WaitHandle.WaitTimeout)
        {
            HostLog.SharedMemorySlotEvicted(_logger, slot.Index, slot.MemberPid, (long)ViolationGrace.TotalMilliseconds);
        }

        // Whatever of this occupancy still waits on the slot wakes and ends before the recycle.
        if (peer.MarkLost($"slot {slot.Index} of '{_channel.Path}' was closed by the runtime after a protocol violation"))
        {
            slot.WakeOwnWaiters();
        }
    }

    /// <summary>
    /// Serves the member holding the slot until it closes or dies (or the runtime stops). The session
    /// runs on this thread for as long as it can: it reads the ring here, and a small batch runs and
    /// answers here too, with no thread hand-off. When the session waits on something else, its reads
    /// come back to this thread through <see cref="SlotReader.ServeUntil"/>. A protocol violation in
    /// either ring ends the session with SessionClosed naming it, and the slot is freed after
    /// <see cref="ViolationGrace"/> even if the member stays.
    /// </summary>
    private void ServeOccupancy(SharedMemorySlot slot)
    {
        var occupancy = new Occupancy();
        using var transport = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, slot.Peer.LostToken, occupancy.Evicted);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(transport.Token, _stopReading.Token);
        var output = new RingOutput(slot.Outbound, occupancy);
        var reader = new SlotReader(slot.Inbound, reading.Token, occupancy);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sessions[slot.Index] = done.Task;
        var session = RunSessionAsync(slot, reader, output, transport.Token, occupancy, done);
        try
        {
            reader.ServeUntil(session);
            if (occupancy.Violation is null)
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
                catch (SharedMemoryFormatException e)
                {
                    occupancy.Violate(e);
                }
                catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
                {
                }
            }

            if (occupancy.Violation is { } violation)
            {
                HostLog.SharedMemoryRingViolation(_logger, slot.Index, violation.Code, violation.Position, violation.Length, violation.Limit, violation.Message);
                WaitForRelease(slot);
            }

            // The member is gone, so the session's remaining writes can reach no one: bounded wait.
            if (!session.Wait(TimeSpan.FromSeconds(10)))
            {
                HostLog.SharedMemorySessionFailed(_logger, new TimeoutException($"slot {slot.Index}: the session did not end within 10 s of its member leaving"));
            }
        }
        finally
        {
            // Fence off a straggling writer before the slot is recycled under it.
            output.Close();
            reader.Dispose();
            occupancy.Dispose();
        }
    }

    private async Task RunSessionAsync(SharedMemorySlot slot, SlotReader incoming, RingOutput output, CancellationToken transport, Occupancy occupancy, TaskCompletionSource done)
    {
        try
        {
            await RunSessionCoreAsync(slot, incoming, output, transport, occupancy).ConfigureAwait(false);
        }
        catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
        {
            // The slot thread waits on this task; a fault here must end the session, not the slot.
            HostLog.SharedMemorySlotFailed(_logger, e, slot.Index);
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private async Task RunSessionCoreAsync(SharedMemorySlot slot, SlotReader incoming, RingOutput output, CancellationToken transport, Occupancy occupancy)
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
            closed = occupancy.Violation is { } violation
                ? new SessionClosed { Code = (int)StatusCode.InvalidArgument, Message = violation.Message }
                : new SessionClosed { Code = (int)StatusCode.Unavailable, Message = slot.Peer.Reason ?? "the runtime is stopping" };
        }
        catch (SharedMemoryFormatException e)
        {
            occupancy.Violate(e);
            closed = new SessionClosed { Code = (int)StatusCode.InvalidArgument, Message = e.Message };
        }
        catch (SharedMemoryPeerLostException e)
        {
            closed = new SessionClosed { Code = (int)StatusCode.Unavailable, Message = e.Message };
        }

        if (!slot.Peer.IsLost && !occupancy.Evicted.IsCancellationRequested)
        {
            try
            {
                var frame = RuntimeMessageBuffer.From(new RuntimeMessage { Closed = closed });
                // Bounded: a member that stopped reading must not hold this session (and the slot) forever.
                await output.WriteAsync(frame, moreFollows: false, occupancy.Evicted).ConfigureAwait(false);
                frame.Release();
            }
            catch (Exception e) when (e is SharedMemoryPeerLostException or SharedMemoryFormatException or OperationCanceledException)
            {
            }
        }

        HostLog.SharedMemorySessionEnded(_logger, slot.Index, closed.Code, closed.Message);
    }

    /// <summary>
    /// The session's incoming messages, read straight from the slot's member-to-runtime ring by the
    /// slot's thread. On that thread a read blocks in the ring's wait (spin, then the doorbell); from
    /// any other thread (the session continuing after an await) the read is handed to the slot
    /// thread, whose <see cref="ServeUntil"/> performs it and resumes the session there. So reads stay
    /// on one thread (the ring has one consumer) and never block a thread-pool thread. Reads end,
    /// returning false, when the member leaves or dies or the runtime stops.
    /// </summary>
    private sealed class SlotReader : IAsyncEnumerable<MemberMessageBuffer>, IAsyncEnumerator<MemberMessageBuffer>, IInlineSource, IDisposable
    {
        private readonly RingConsumer _ring;
        private readonly CancellationToken _stopReading;
        private readonly Thread _home = Thread.CurrentThread;
        private readonly Queue<MemberMessageBuffer> _ready = new();
        private readonly ManualResetEventSlim _wake = new(false);
        private readonly MessageHandler _deliver;
        private readonly Occupancy _occupancy;
        private TaskCompletionSource<bool>? _pending;
        private CancellationTokenSource? _reading;
        private bool _first = true;

        public SlotReader(RingConsumer ring, CancellationToken stopReading, Occupancy occupancy)
        {
            _ring = ring;
            _stopReading = stopReading;
            _occupancy = occupancy;
            // One copy out of the ring into a pooled buffer; the dispatcher reads it in place.
            _deliver = span => _ready.Enqueue(MemberMessageBuffer.Copy(span));
            _ring.MessageLimit = FirstMessageLimit;
        }

        public MemberMessageBuffer Current { get; private set; } = null!;

        public IAsyncEnumerator<MemberMessageBuffer> GetAsyncEnumerator(CancellationToken cancellationToken = default)
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
                    if (_first)
                    {
                        // Only the first message is held to the small limit; the next may be a batch.
                        if (_ring.Drain(_deliver, maxMessages: 1) > 0)
                        {
                            _first = false;
                            _ring.MessageLimit = 0;
                        }
                    }
                    else
                    {
                        _ = _ring.Drain(_deliver);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
            {
                // The member left or died, or the runtime stops: the incoming stream ends.
                return false;
            }
            catch (SharedMemoryFormatException e)
            {
                // The member broke the ring's rules: this occupancy is over, the slot is freed.
                _occupancy.Violate(e);
                throw new SessionRejectedException(StatusCode.InvalidArgument, e.Message);
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
    private sealed class RingOutput(RingProducer ring, Occupancy occupancy) : ISessionOutput
    {
        private readonly Lock _gate = new();
        private bool _closed;

        public ValueTask WriteAsync(RuntimeMessageBuffer frame, bool moreFollows, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    throw new SharedMemoryPeerLostException($"{ring}: the session's member has left.");
                }

                try
                {
                    ring.Write(frame.Span, cancellationToken);
                }
                catch (SharedMemoryFormatException e)
                {
                    // The member corrupted the ring's head: the same verdict as a bad frame it wrote.
                    occupancy.Violate(e);
                    throw;
                }

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

    /// <summary>
    /// One member's use of a slot: the first protocol violation seen in either ring, and the eviction
    /// that follows it after <see cref="ViolationGrace"/>, cancelling whatever of the session still waits.
    /// </summary>
    private sealed class Occupancy : IDisposable
    {
        private readonly CancellationTokenSource _evict = new();
        private SharedMemoryFormatException? _violation;

        public SharedMemoryFormatException? Violation => Volatile.Read(ref _violation);

        public CancellationToken Evicted => _evict.Token;

        public void Violate(SharedMemoryFormatException e)
        {
            if (Interlocked.CompareExchange(ref _violation, e, null) is null)
            {
                try
                {
                    _evict.CancelAfter(ViolationGrace);
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose() => _evict.Dispose();
    }
}

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
internal sealed class SharedMemoryListener : ITransportListener
{
    /// <summary>How long the slot threads get, together, to leave once the drain is over.</summary>
    private static readonly TimeSpan ThreadExitWait = TimeSpan.FromSeconds(5);

    private readonly SharedMemoryChannel _channel;
    private readonly SessionProcessor _processor;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();

    // Cancelled the moment the runtime starts stopping, when the processor stops taking batches:
    // sessions stop reading then (a batch read later would only be refused) and drain what they accepted.
    private readonly CancellationTokenSource _stopReading;
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

    private SharedMemoryListener(SharedMemoryChannel channel, SessionProcessor processor, CancellationToken stopping, ILogger logger)
    {
        _stopReading = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _channel = channel;
        _processor = processor;
        _logger = logger;
        _sessions = [.. channel.Slots.Select(_ => Task.CompletedTask)];
        _threads = [.. channel.Slots.Select(slot => new Thread(() => ServeSlot(slot)) { IsBackground = true, Name = $"jex-shm-slot-{slot.Index}" })];
        channel.MemberLost += OnMemberLost;
    }

    public static bool IsSharedMemory(UserCodeOptions options) =>
        options.Transport == TransportKind.SharedMemory;

    /// <summary>
    /// Kestrel still hosts health checks; on loopback port 0 so runtimes never collide. With deploy
    /// on, it also serves jex.v1.Deploy on a Unix socket whose path is known before the ready line.
    /// </summary>
    public static void ConfigureKestrel(KestrelServerOptions kestrel, UserCodeOptions options)
    {
        kestrel.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        if (DeploySocket(options) is { } socket)
        {
            kestrel.ListenUnixSocket(socket, l => l.Protocols = HttpProtocols.Http2);
        }
    }

    /// <summary>The deploy socket: UserCode:Deploy:Socket, or beside the shared-memory file; null without deploy.</summary>
    public static string? DeploySocket(UserCodeOptions options) =>
        !options.Deploy.Enabled ? null
        : options.Deploy.Socket is { } socket ? Path.GetFullPath(socket)
        : SharedMemoryChannel.PathFor(options.Uid!) + ".deploy";

    /// <summary>
    /// Creates the file, starts serving and writes the ready line, all before the host is built (a
    /// failure stops startup): serving needs only the file, the slot threads and the processor, so
    /// building the host and starting Kestrel (health checks only, on this transport) are off the
    /// fork-to-ready path. The host stops the returned listener like any other
    /// (<see cref="TransportListenerService"/>).
    /// </summary>
    public static SharedMemoryListener Start(UserCodeOptions options, SessionProcessor processor, IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory, string? metricsUrl = null)
    {
        var logger = loggerFactory.CreateLogger("Jex.Runtime.SharedMemory");
        var shm = options.SharedMemory;
        var wait = WaitModes.TryParse(shm.Wait, out var mode) ? mode : WaitMode.Adaptive;
        var idle = IdleStrategy.For(wait);
        var channel = SharedMemoryChannel.Create(options.Uid!, new SharedMemoryOptions
        {
            MemberToRuntimeCapacity = shm.RingBytes,
            RuntimeToMemberCapacity = shm.RingBytes,
            MaxMessageBytes = options.MaxMessageBytes,
            Sessions = shm.Sessions,
            Idle = idle,
        });
        ExitCleanup.Register(channel.RemoveFiles);
        HostLog.SharedMemoryCreated(logger, channel.Path, shm.Sessions, shm.RingBytes, WaitModes.ToName(wait), idle.SpinTicks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency, Environment.ProcessorCount);
        var listener = new SharedMemoryListener(channel, processor, lifetime.ApplicationStopping, logger);
        foreach (var thread in listener._threads)
        {
            thread.Start();
        }

        var catalog = processor.Versions.FunctionNames;
        HostLog.Ready(logger, RuntimeInfo.Version, TransportKind.SharedMemory.ToWire(), channel.Path, string.Join(", ", catalog));
        var deploySocket = DeploySocket(options);
        ReadyLine.Write(TransportKind.SharedMemory, channel.Path, RuntimeInfo.Version, catalog, metricsUrl, deploySocket is null ? null : "unix:" + deploySocket);
        return listener;
    }

    /// <summary>Already serving since <see cref="Start"/>: the ready line is out before the host starts.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Sessions stopped reading when the stop began; the processor drains each (Drained, then
    /// SessionClosed). This waits for them to end or for <paramref name="cancellationToken"/> (the
    /// drain timeout) to fire; then the slot threads stop and the files go.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopReading.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll([.. _sessions]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // What has not drained is cut off below.
            HostLog.DrainTimedOut(_logger, _sessions.Count(s => !s.IsCompleted));
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _channel.Close();
        // Joining blocks; off the host's stopping thread.
        await Task.Run(ReleaseChannel, CancellationToken.None).ConfigureAwait(false);
    }

    private void ReleaseChannel()
    {
        var deadline = DateTime.UtcNow + ThreadExitWait;
        foreach (var thread in _threads)
        {
            var left = deadline - DateTime.UtcNow;
            if (thread.IsAlive && (left <= TimeSpan.Zero || !thread.Join(left)))
            {
                // A thread stuck in user code must not keep the files forever; the mapping stays.
                _channel.RemoveFiles();
                HostLog.RemovedFile(_logger, _channel.Path);
                return;
            }
        }

        _channel.Dispose();
        HostLog.RemovedFile(_logger, _channel.Path);
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
            await _processor.RunAsync(incoming, output, transport, TransportKind.SharedMemory).ConfigureAwait(false);
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
}

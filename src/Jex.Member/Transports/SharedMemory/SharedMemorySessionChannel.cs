using System.Buffers;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Transport.SharedMemory;

namespace Jex.Member.Transports.SharedMemory;

/// <summary>
/// A session over the shared-memory rings of a runtime started with UserCode:Transport=shared-memory.
/// Sends serialize straight into ring memory (zero copy) and wake the runtime at most once per send.
/// A dedicated reader thread drains the runtime-to-member ring into an unbounded queue, so results
/// never back up behind a member that is itself blocked sending (the member bounds batches in flight).
/// A dead or departed runtime surfaces within a second as <see cref="SessionEndedException"/> with
/// <see cref="StatusCode.Unavailable"/>; a SessionClosed message ends the session with its code.
/// </summary>
internal sealed class SharedMemorySessionChannel : ISessionChannel
{
    // How long a reader waits on the queue before parking (see ReadBytesAsync); none with block.
    // Not longer with spin: the ring reader already spins, and a second spinning member thread
    // takes the core the runtime needs on 2 cores (docs/shared-memory.md, "Waiting").
    private static readonly long QueueSpinTicks = System.Diagnostics.Stopwatch.Frequency / 50_000;
    private const byte ClosedTag = (8 << 3) | 2;

    private readonly SharedMemoryChannel _channel;
    private readonly Channel<RuntimeBytes> _incoming = Channel.CreateUnbounded<RuntimeBytes>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Thread _reader;
    private readonly CancellationTokenSource _stop = new();
    private readonly long _spinTicks;
    private bool _completed;

    private SharedMemorySessionChannel(SharedMemoryChannel channel, IdleStrategy idle)
    {
        _channel = channel;
        _spinTicks = idle.SpinTicks == 0 ? 0 : QueueSpinTicks;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "jex-shm-member-reader" };
        _reader.Start();
    }

    /// <summary>The runtime's ready-line address: the mapped file's path.</summary>
    public string Path => _channel.Path;

    /// <summary>Largest message the rings carry (the runtime's limit, from the file header).</summary>
    public int MaxMessageBytes => _channel.MaxMessageBytes;

    /// <summary>Test hook: the runtime judges the liveness of process <paramref name="pid"/> instead of this one.</summary>
    internal void ImpersonateForTest(int pid) => _channel.ImpersonateForTest(pid);

    /// <summary>Attaches to the file the runtime named in its ready line.</summary>
    public static SharedMemorySessionChannel Open(string path, SharedMemoryOptions? options = null)
    {
        options ??= new SharedMemoryOptions();
        return new(SharedMemoryChannel.Open(path, options), options.Idle);
    }

    /// <summary>Attaches with the ring waits of <paramref name="wait"/> on this machine (<see cref="IdleStrategy.For(WaitMode)"/>).</summary>
    public static SharedMemorySessionChannel Open(string path, WaitMode wait) =>
        Open(path, new SharedMemoryOptions { Idle = IdleStrategy.For(wait) });

    public ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        if (_completed)
        {
            throw new InvalidOperationException("The session channel was completed; nothing more can be sent.");
        }

        try
        {
            // Sending into a ring nobody reads would "succeed" until it fills: fail at once instead.
            _channel.Peer.ThrowIfLost();
            var ring = _channel.Outbound;
            if (message.KindCase == MemberMessage.KindOneofCase.Batch)
            {
                var itemSizes = ArrayPool<int>.Shared.Rent(message.Batch.Items.Count);
                try
                {
                    var batchSize = BatchMessageWriter.BatchSize(message.Batch, itemSizes);
                    ring.Write(BatchMessageWriter.MessageSize(batchSize), (message.Batch, batchSize, itemSizes),
                        static (span, state) => BatchMessageWriter.Write(span, state.Batch, state.batchSize, state.itemSizes), cancellationToken);
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(itemSizes);
                }
            }
            else
            {
                ring.Write(message.CalculateSize(), message, static (span, m) => m.WriteTo(span), cancellationToken);
            }

            ring.Flush();
            return ValueTask.CompletedTask;
        }
        catch (SharedMemoryPeerLostException e)
        {
            throw new SessionEndedException(StatusCode.Unavailable, $"The runtime is unavailable: {e.Message}", e);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "length")
        {
            throw new SessionEndedException(StatusCode.ResourceExhausted, $"The message is too large for the shared-memory transport: {e.Message}", e);
        }
    }

    public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        var bytes = await ReadBytesAsync(cancellationToken).ConfigureAwait(false);
        return bytes?.ToMessageAndRelease();
    }

    public async ValueTask<RuntimeBytes?> ReadBytesAsync(CancellationToken cancellationToken)
    {
        // A result usually follows within microseconds on a busy session: wait for it here briefly
        // rather than parking this thread and paying a wake-up and a thread hand-off for it.
        if (_incoming.Reader.TryRead(out var ready) || SpinForMessage(out ready))
        {
            return ready;
        }

        try
        {
            if (await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false)
                && _incoming.Reader.TryRead(out var message))
            {
                return message;
            }

            return null;
        }
        catch (ChannelClosedException e) when (e.InnerException is SessionEndedException ended)
        {
            throw new SessionEndedException(ended.StatusCode, ended.Message, ended.InnerException);
        }
    }

    private bool SpinForMessage(out RuntimeBytes? message)
    {
        var until = System.Diagnostics.Stopwatch.GetTimestamp() + _spinTicks;
        var spinner = default(SpinWait);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
        {
            if (_incoming.Reader.TryRead(out message))
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        message = null;
        return false;
    }

    /// <summary>
    /// Rings have no half-close: the member ends a session with Drain, and the runtime answers
    /// Drained and SessionClosed(OK). This only stops further sends.
    /// </summary>
    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _completed = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            // Stop our reader before unmapping (it reads ring memory) and before telling the runtime,
            // which recycles the slot as soon as it sees the close.
            _channel.Close();
            _reader.Join();
            _channel.Dispose();
            _stop.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private void ReadLoop()
    {
        var inbound = _channel.Inbound;
        var closed = false;
        Exception? failure = null;
        MessageHandler deliver = span =>
        {
            // Only SessionClosed (field 8) concerns this thread; everything else is queued as bytes.
            if (span.IsEmpty || span[0] != ClosedTag)
            {
                _incoming.Writer.TryWrite(RuntimeBytes.Copy(span));
                return;
            }

            var message = RuntimeMessage.Parser.ParseFrom(span);
            if (message.KindCase == RuntimeMessage.KindOneofCase.Closed)
            {
                closed = true;
                if (message.Closed.Code != (int)StatusCode.OK)
                {
                    failure = new SessionEndedException((StatusCode)message.Closed.Code, message.Closed.Message);
                }

                return;
            }

            _incoming.Writer.TryWrite(RuntimeBytes.From(message));
        };

        try
        {
            while (!closed)
            {
                inbound.WaitForData(_stop.Token);
                inbound.Drain(deliver);
            }
        }
        catch (SharedMemoryPeerLostException e) when (!_stop.IsCancellationRequested)
        {
            failure = new SessionEndedException(StatusCode.Unavailable, $"The runtime is unavailable: {e.Message}", e);
        }
        catch (Exception e) when (e is SharedMemoryFormatException or InvalidProtocolBufferException)
        {
            failure = new SessionEndedException(StatusCode.Internal, $"The runtime sent data that cannot be read: {e.Message}", e);
        }
        catch (Exception e) when (e is OperationCanceledException or SharedMemoryPeerLostException)
        {
            // Disposed by this side.
        }

        _incoming.Writer.TryComplete(failure);
    }
}

using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Transport.SharedMemory;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// Copies each encoded message into the runtime-to-member ring, fragmented when it exceeds a
/// frame, and publishes (waking the member only if it sleeps) when no other message follows at
/// once. One writer at a time (the session's write loop); the lock is uncontended and only
/// fences off a write racing the recycle.
/// </summary>
internal sealed class RingOutput(RingProducer ring, Occupancy occupancy) : ISessionOutput
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

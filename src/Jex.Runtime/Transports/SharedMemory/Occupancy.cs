using Jex.Transport.SharedMemory;

namespace Jex.Runtime.Transports.SharedMemory;

/// <summary>
/// One member's use of a slot: the first protocol violation seen in either ring, and the eviction
/// that follows it after <see cref="SharedMemoryListener.ViolationGrace"/>, cancelling whatever of the session still waits.
/// </summary>
internal sealed class Occupancy : IDisposable
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
                _evict.CancelAfter(SharedMemoryListener.ViolationGrace);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public void Dispose() => _evict.Dispose();
}

using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// Per-thread readers, writers and output buffer, so decoding and encoding allocate nothing but
/// the values themselves. Safe because a codec call runs synchronously on one thread from start to
/// end; nested objects take the instance for their depth.
/// </summary>
internal sealed class HazelcastScratch
{
    // A thread that once wrote a huge value does not keep a huge buffer.
    private const int MaxRetainedOutput = 1 << 20;

    [ThreadStatic]
    private static HazelcastScratch? t_current;

    private CompactReader[] _readers = new CompactReader[4];
    private CompactWriter[] _writers = new CompactWriter[4];
    private BufferWriter _output = new(256);

    public static HazelcastScratch Current => t_current ??= new HazelcastScratch();

    /// <summary>The session state of the write in progress, for nested objects to announce their schemas.</summary>
    public HazelcastSessionState? State { get; set; }

    public CompactReader Reader(int depth) => Get(ref _readers, depth);

    public CompactWriter Writer(int depth) => Get(ref _writers, depth);

    /// <summary>The output buffer, emptied.</summary>
    public BufferWriter Output()
    {
        if (_output.Capacity > MaxRetainedOutput)
        {
            _output.Dispose();
            _output = new BufferWriter(256);
        }

        _output.Reset();
        return _output;
    }

    public void Announce(Schema schema)
    {
        State?.Announce(schema);
    }

    private static T Get<T>(ref T[] items, int depth)
        where T : class, new()
    {
        if (depth >= items.Length)
        {
            Array.Resize(ref items, Math.Max(items.Length * 2, depth + 1));
        }

        return items[depth] ??= new T();
    }
}

using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>
/// The embedded stand-in for a Hazelcast IMap with its event journal: every put is appended to
/// the journal as an event (partition, sequence, ingestion timestamp), which the job's source
/// stage reads. The journal is bounded, so a fast producer waits for the job (back-pressure).
/// </summary>
internal sealed class EmbeddedJournalMap
{
    /// <summary>Hazelcast's default partition count.</summary>
    public const int PartitionCount = 271;

    private readonly Channel<Item> _journal;
    private readonly long[] _sequences = new long[PartitionCount];
    private readonly IValueFormat _format;

    public EmbeddedJournalMap(string name, IValueFormat format, int capacity = 65536)
    {
        Name = name;
        _format = format;
        _journal = Channel.CreateBounded<Item>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Name { get; }

    public long Puts { get; private set; }

    public ChannelReader<Item> Journal => _journal.Reader;

    public ValueTask PutAsync(string key, ByteString value, CancellationToken cancellationToken)
    {
        var keyBytes = _format.EncodeKey(key);
        var partition = Partition(keyBytes.Span);
        var item = new Item
        {
            Key = keyBytes,
            Value = value,
            TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Partition = partition,
            Sequence = _sequences[partition]++,
        };
        Puts++;
        return _journal.Writer.WriteAsync(item, cancellationToken);
    }

    public void Complete(Exception? error = null) => _journal.Writer.TryComplete(error);

    private static int Partition(ReadOnlySpan<byte> key)
    {
        // Any stable hash does for the embedded map (FNV-1a); Hazelcast's own is the codec's business.
        var hash = 2166136261u;
        foreach (var b in key)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % PartitionCount);
    }
}

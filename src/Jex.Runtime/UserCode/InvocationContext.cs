using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>
/// The <see cref="IJexContext"/> of one batch, moved from item to item as the batch advances. Also
/// carries what binders need: the item's formats and the session's codec state.
/// </summary>
internal sealed class InvocationContext : IJexContext
{
    private readonly SessionInfo _session;

    public InvocationContext(SessionInfo session, ILogger logger, long batchId, CancellationToken cancellationToken)
    {
        _session = session;
        Logger = logger;
        BatchId = batchId;
        CancellationToken = cancellationToken;
    }

    public ILogger Logger { get; }

    public string JobId => _session.JobId;

    public string JobName => _session.JobName;

    public string StageName => _session.StageName;

    public string FunctionName => _session.FunctionName;

    public long BatchId { get; }

    public ReadOnlyMemory<byte> RawKey => Item.Key.Memory;

    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(Item.TimestampMs);

    public int Partition => Item.Partition;

    public long Sequence => Item.Sequence;

    public IReadOnlyDictionary<string, string> Settings => _session.Settings;

    public CancellationToken CancellationToken { get; }

    /// <summary>Session-wide codec state (Compact schemas); owned by the Hazelcast binding.</summary>
    public SessionInfo Session => _session;

    /// <summary>The item being processed.</summary>
    public Item Item { get; private set; } = null!;

    public Format KeyFormat { get; private set; }

    public Format ValueFormat { get; private set; }

    /// <summary>The current item's outputs, filled by the function's result sink.</summary>
    public List<Output> Outputs { get; } = new(1);

    public void MoveTo(Item item)
    {
        Item = item;
        KeyFormat = item.KeyFormat == Format.Unspecified ? _session.KeyFormat : item.KeyFormat;
        ValueFormat = item.ValueFormat == Format.Unspecified ? _session.ValueFormat : item.ValueFormat;
        Outputs.Clear();
    }

    /// <summary>An output keyed like the input item.</summary>
    public void AddOutput(ByteString value, Format valueFormat) => Outputs.Add(new Output
    {
        Key = Item.Key,
        KeyFormat = KeyFormat,
        Value = value,
        ValueFormat = valueFormat,
    });
}

/// <summary>What a session's Init established.</summary>
internal sealed class SessionInfo
{
    public required string JobId { get; init; }

    public required string JobName { get; init; }

    public required string StageName { get; init; }

    public required string FunctionName { get; init; }

    public required Format KeyFormat { get; init; }

    public required Format ValueFormat { get; init; }

    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    /// <summary>Per-session state of the Hazelcast binding (known Compact schemas), created on demand.</summary>
    public object? HazelcastState { get; set; }

    /// <summary>
    /// Compact schemas user code created that the member has not been sent yet. The dispatcher
    /// sends them in a Schemas message before the result that uses them.
    /// </summary>
    public List<CompactSchema> PendingSchemas { get; } = [];
}

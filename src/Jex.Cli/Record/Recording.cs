using Jex.Protocol.V1;

namespace Jex.Cli.Record;

/// <summary>The first line of a recording: the session the batches ran in (docs/record-replay.md).</summary>
internal sealed record RecordHeader
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string Job { get; init; }

    public required string Stage { get; init; }

    public required string Function { get; init; }

    /// <summary>The job's format key (json, text).</summary>
    public required string Format { get; init; }

    public required Format KeyFormat { get; init; }

    public required Format ValueFormat { get; init; }

    /// <summary>The user code the recording ran against (a folder or .dll); replay's default.</summary>
    public string? UserCode { get; init; }

    public uint MaxBatchBytes { get; init; }

    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Hazelcast Compact schemas the items need, announced to the runtime before the first batch.</summary>
    public IReadOnlyList<CompactSchema> Schemas { get; init; } = [];
}

/// <summary>One batch as the member sent it (items with their formats, in order) and the runtime's result per item.</summary>
internal sealed record RecordedBatch(long Sequence, IReadOnlyList<Item> Items, IReadOnlyList<ItemResult> Results);

/// <summary>A recording that cannot be read: names the file, the line and what is wrong.</summary>
internal sealed class RecordFileException : Exception
{
    public RecordFileException(string message) : base(message) { }
}

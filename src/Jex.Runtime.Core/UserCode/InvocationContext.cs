using System.Buffers;
using System.Text;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.UserCode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Runtime.UserCode;

/// <summary>
/// The <see cref="IJexContext"/> of one batch, moved from item to item as the batch advances. Also
/// carries what binders need: the item's bytes and formats, the session's codec state, and where
/// the item's outputs go until the batch encodes them.
/// </summary>
/// <remarks>
/// Item bytes are slices of the batch's pooled message buffer and outputs are collected as slices, with
/// transient bytes (encoded strings, Hazelcast writes) kept in a pooled arena: an item allocates
/// nothing of its own. Everything is valid until the item ends; the batch copies the outputs into
/// its result then. A call abandoned at its deadline may still write here afterwards, so an
/// abandoned context never gives its buffers back to the pools.
/// </remarks>
internal sealed class InvocationContext : IJexContext, IDisposable
{
    private const int ArenaChunk = 4096;

    private readonly SessionInfo _session;
    private PendingOutput[] _outputs = new PendingOutput[4];
    private int _outputCount;
    private byte[] _arena = [];
    private int _arenaPos;
    private List<byte[]>? _retired;
    private bool _abandoned;

    // The current item's bytes until its timestamp, partition and sequence are first asked for:
    // most functions never read them, so a batch does not decode them for every item.
    private ReadOnlyMemory<byte> _undecodedMetadata;
    private long _timestampMs;
    private int _partition;
    private long _sequence;

    public InvocationContext(SessionInfo session, ILogger logger, long batchId, CancellationToken cancellationToken)
    {
        _session = session;
        Logger = logger;
        BatchId = batchId;
        CancellationToken = cancellationToken;
    }

    public ILogger Logger { get; private set; }

    public string JobId => _session.JobId;

    public string JobName => _session.JobName;

    public string StageName => _session.StageName;

    public string FunctionName => _session.FunctionName;

    public long BatchId { get; private set; }

    public ReadOnlyMemory<byte> RawKey => Key;

    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(TimestampMs);

    public int Partition
    {
        get
        {
            DecodeMetadata();
            return _partition;
        }
    }

    public long Sequence
    {
        get
        {
            DecodeMetadata();
            return _sequence;
        }
    }

    public IReadOnlyDictionary<string, string> Settings => _session.Settings;

    public CancellationToken CancellationToken { get; private set; }

    /// <summary>What the session's Init established, with its format state (<see cref="SessionInfo.Format"/>).</summary>
    public SessionInfo Session => _session;

    /// <summary>The current item's key bytes.</summary>
    public ReadOnlyMemory<byte> Key { get; private set; }

    /// <summary>The current item's value bytes.</summary>
    public ReadOnlyMemory<byte> Value { get; private set; }

    public long TimestampMs
    {
        get
        {
            DecodeMetadata();
            return _timestampMs;
        }
    }

    public Format KeyFormat { get; private set; }

    public Format ValueFormat { get; private set; }

    /// <summary>The current item's outputs, filled by the function's result sink.</summary>
    public ReadOnlySpan<PendingOutput> Outputs => _outputs.AsSpan(0, _outputCount);

    /// <summary>
    /// Points a pooled context at another batch (key-ordered sessions keep one context per running
    /// item, not per batch). Never for an abandoned context.
    /// </summary>
    public void Retarget(ILogger logger, long batchId, CancellationToken cancellationToken)
    {
        Logger = logger;
        BatchId = batchId;
        CancellationToken = cancellationToken;
    }

    /// <summary>Moves to an item of a batch's message buffer.</summary>
    public void MoveTo(MemberMessageBuffer batch, in ItemView item)
    {
        Reset(item.KeyFormat, item.ValueFormat);
        Key = batch.Slice(item.KeyStart, item.KeyLength);
        Value = batch.Slice(item.ValueStart, item.ValueLength);
        _undecodedMetadata = batch.Slice(item.ItemStart, item.ItemLength);
    }

    /// <summary>Moves to an item given as a message (unit tests).</summary>
    public void MoveTo(Item item)
    {
        Reset(item.KeyFormat, item.ValueFormat);
        Key = item.Key.Memory;
        Value = item.Value.Memory;
        _timestampMs = item.TimestampMs;
        _partition = item.Partition;
        _sequence = item.Sequence;
    }

    private void DecodeMetadata()
    {
        if (!_undecodedMetadata.IsEmpty)
        {
            ItemView.ReadMetadata(_undecodedMetadata.Span, out _timestampMs, out _partition, out _sequence);
            _undecodedMetadata = default;
        }
    }

    private void Reset(Format keyFormat, Format valueFormat)
    {
        _undecodedMetadata = default;
        _timestampMs = 0;
        _partition = 0;
        _sequence = 0;
        KeyFormat = keyFormat == Format.Unspecified ? _session.KeyFormat : keyFormat;
        ValueFormat = valueFormat == Format.Unspecified ? _session.ValueFormat : valueFormat;
        _outputs.AsSpan(0, _outputCount).Clear();
        _outputCount = 0;
        _arenaPos = 0;
        if (_retired is { Count: > 0 })
        {
            foreach (var chunk in _retired)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }

            _retired.Clear();
        }
    }

    /// <summary>An output keyed like the input item.</summary>
    public void AddOutput(ReadOnlyMemory<byte> value, Format valueFormat) =>
        AddOutput(Key, KeyFormat, value, valueFormat);

    public void AddOutput(ReadOnlyMemory<byte> key, Format keyFormat, ReadOnlyMemory<byte> value, Format valueFormat)
    {
        if (_outputCount == _outputs.Length)
        {
            Array.Resize(ref _outputs, _outputs.Length * 2);
        }

        _outputs[_outputCount++] = new PendingOutput(key, keyFormat, value, valueFormat);
    }

    /// <summary>Copies transient bytes (a reused encoder buffer) into memory that lives until the item ends.</summary>
    public ReadOnlyMemory<byte> Keep(ReadOnlySpan<byte> bytes)
    {
        var target = Reserve(bytes.Length, out var memory);
        bytes.CopyTo(target);
        return memory;
    }

    /// <summary>A string's UTF-8 bytes, living until the item ends.</summary>
    public ReadOnlyMemory<byte> KeepUtf8(string value)
    {
        var target = Reserve(Encoding.UTF8.GetMaxByteCount(value.Length), out var memory);
        var written = Encoding.UTF8.GetBytes(value, target);
        _arenaPos -= target.Length - written;
        return memory[..written];
    }

    private Span<byte> Reserve(int length, out ReadOnlyMemory<byte> memory)
    {
        if (_arena.Length - _arenaPos < length)
        {
            if (_arena.Length > 0)
            {
                (_retired ??= []).Add(_arena);
            }

            _arena = ArrayPool<byte>.Shared.Rent(Math.Max(ArenaChunk, length));
            _arenaPos = 0;
        }

        var start = _arenaPos;
        _arenaPos += length;
        memory = _arena.AsMemory(start, length);
        return _arena.AsSpan(start, length);
    }

    /// <summary>The current outputs as messages (unit tests).</summary>
    public List<Output> OutputMessages()
    {
        var list = new List<Output>(_outputCount);
        foreach (var o in Outputs)
        {
            list.Add(new Output
            {
                Key = Google.Protobuf.ByteString.CopyFrom(o.Key.Span),
                KeyFormat = o.KeyFormat,
                Value = Google.Protobuf.ByteString.CopyFrom(o.Value.Span),
                ValueFormat = o.ValueFormat,
            });
        }

        return list;
    }

    /// <summary>A call still running on this context was abandoned: its buffers must never be reused.</summary>
    public void Abandon() => _abandoned = true;

    /// <summary>Whether <see cref="Abandon"/> was called.</summary>
    public bool IsAbandoned => _abandoned;

    public void Dispose()
    {
        if (_abandoned)
        {
            return;
        }

        Reset(KeyFormat, ValueFormat);
        if (_arena.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_arena);
            _arena = [];
        }
    }
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

    /// <summary>The session's id in the runtime's log.</summary>
    public long Id { get; init; }

    /// <summary>The runtime's own log (not user code's), for what binding notices about the session's items.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>1 once the session's JSON items were found to match their class, or the mismatch was logged (<see cref="JsonFieldCheck"/>).</summary>
    public int JsonFieldsSettled;

    /// <summary>
    /// The session's state of the format that keeps one (<see cref="PayloadCodecs.SessionFormat"/>),
    /// started at Init; null when the runtime has no such format.
    /// </summary>
    public IFormatSession? Format { get; init; }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.Versioning;
using Google.Protobuf;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Protocol.Wire;

namespace Jex.Cli.Soak;

/// <summary>A batch message the soak reuses, with the value bytes its items carry (rewritten per send).</summary>
internal sealed class SoakBatch
{
    public SoakBatch(int items, int payload)
    {
        Values = new byte[items][];
        var batch = new Batch();
        var key = UnsafeByteOperations.UnsafeWrap(new byte[8]);
        for (var i = 0; i < items; i++)
        {
            var value = new byte[payload];
            for (var b = 12; b < payload; b++)
            {
                value[b] = (byte)(b * 7);
            }

            Values[i] = value;
            batch.Items.Add(new Item { Key = key, Value = UnsafeByteOperations.UnsafeWrap(value), TimestampMs = 1_700_000_000_000 + i, Partition = i % 271, Sequence = i });
        }

        Message = new MemberMessage { Batch = batch };
    }

    public MemberMessage Message { get; }

    /// <summary>Each item's value; the message wraps these arrays, so writing them changes what is sent.</summary>
    public byte[][] Values { get; }

    /// <summary>
    /// Stamps every value with the batch id and the item's index, so an output that belongs to
    /// another batch or another item of this one does not compare equal.
    /// </summary>
    public void Stamp(ulong id)
    {
        Message.Batch.Id = id;
        for (var i = 0; i < Values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(Values[i], id);
            BinaryPrimitives.WriteInt32LittleEndian(Values[i].AsSpan(8), i);
        }
    }
}

/// <summary>
/// One soak session at saturation: a closed loop that keeps <c>in flight</c> batches of the
/// identity function outstanding, sending the next one from the reading loop as each result
/// arrives, and checks every result against the <see cref="SoakLedger{TBatch}"/>: every item back
/// exactly once, ok, with one output equal to its input.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SoakWorkload(ISessionChannel channel, int payload, int batchItems, int inFlight)
{
    private static readonly byte ResultTag = ProtoWire.Tag(2, ProtoWire.LengthDelimited);
    private readonly Stack<SoakBatch> _free = new();
    private ulong _nextId = 1;
    private long _end;

    public SoakLedger<SoakBatch> Ledger { get; } = new();

    /// <summary>The first item-level problem seen, for the report (the rest are counted).</summary>
    public string? FirstWrong { get; private set; }

    public async Task OpenAsync(string token, string function, CancellationToken cancellationToken)
    {
        var init = new Init
        {
            ProtocolVersion = ProtocolContract.Version,
            Token = token,
            JobId = "soak",
            JobName = "jex-soak",
            StageName = $"soak {payload}B x{batchItems} if{inFlight}",
            Function = function,
            KeyFormat = Format.Bytes,
            ValueFormat = Format.Bytes,
            MaxInFlight = (uint)inFlight,
            LogLevel = Protocol.V1.LogLevel.Warning,
        };
        await channel.SendAsync(new MemberMessage { Init = init }, cancellationToken).ConfigureAwait(false);
        var first = await channel.ReadAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the runtime ended the session before Ready");
        if (first.KindCase != RuntimeMessage.KindOneofCase.Ready)
        {
            throw new InvalidOperationException($"expected Ready, got {first}");
        }
    }

    /// <summary>
    /// Sends for <paramref name="duration"/> (and until at least <paramref name="minBatches"/> were
    /// sent), then waits for every outstanding result. Throws when the session fails; the ledger
    /// then says what was outstanding.
    /// </summary>
    public async Task RunAsync(TimeSpan duration, CancellationToken cancellationToken, long minBatches = 0)
    {
        Volatile.Write(ref _end, Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        for (var i = 0; i < inFlight; i++)
        {
            await SendNextAsync(cancellationToken).ConfigureAwait(false);
        }

        while (Ledger.OutstandingBatches > 0)
        {
            var bytes = await channel.ReadBytesAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"the runtime ended the session with {Ledger.OutstandingBatches} batch(es) outstanding");
            try
            {
                if (!IsResult(bytes.Span, out var result))
                {
                    Other(bytes.ToMessage());
                    continue;
                }

                Check(result);
            }
            finally
            {
                bytes.Release();
            }

            // Only a result that answered a waiting batch frees room: a duplicate or unknown one must
            // not push the session past its in-flight limit (the runtime refuses that batch).
            if (Ledger.OutstandingBatches < inFlight
                && (Stopwatch.GetTimestamp() < Volatile.Read(ref _end) || Ledger.BatchesSent < minBatches))
            {
                await SendNextAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Moves the time the running loop stops sending (a <see cref="Stopwatch"/> timestamp); callable from any thread.</summary>
    public void EndAt(long timestamp) => Volatile.Write(ref _end, timestamp);

    /// <summary>Drain, half-close, and read to the end of the stream, so the runtime ends the session cleanly.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        await channel.SendAsync(new MemberMessage { Drain = new Drain() }, cancellationToken).ConfigureAwait(false);
        await channel.CompleteAsync(cancellationToken).ConfigureAwait(false);
        while (await channel.ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            if (message.KindCase == RuntimeMessage.KindOneofCase.Result)
            {
                // Not expected after every result came back: a duplicate or an unknown id.
                Ledger.Receive(message.Result.BatchId, out _, out _);
            }
        }
    }

    private ValueTask SendNextAsync(CancellationToken cancellationToken)
    {
        var batch = _free.Count > 0 ? _free.Pop() : new SoakBatch(batchItems, payload);
        var id = _nextId++;
        batch.Stamp(id);
        Ledger.Sent(id, batchItems, batch);
        return channel.SendAsync(batch.Message, cancellationToken);
    }

    private void Other(RuntimeMessage message)
    {
        switch (message.KindCase)
        {
            case RuntimeMessage.KindOneofCase.Error:
                throw new InvalidOperationException("protocol error from the runtime: " + message.Error);
            case RuntimeMessage.KindOneofCase.Drained:
                throw new InvalidOperationException($"the runtime sent Drained unasked with {Ledger.OutstandingBatches} batch(es) outstanding");
            default:
                // Logs, Pongs and Schemas do not count.
                break;
        }
    }

    private void Check(ReadOnlySpan<byte> result)
    {
        var id = BatchId(result);
        var kind = Ledger.Receive(id, out var batch, out var expected);
        if (kind != ResultClass.Expected)
        {
            FirstWrong ??= $"batch {id}: a result that is {(kind == ResultClass.Duplicate ? "a duplicate" : "for a batch never sent")}";
            return;
        }

        var (ok, wrong, why) = CompareItems(result, batch!.Values);
        Ledger.Checked(ok, wrong);
        if (why is not null)
        {
            FirstWrong ??= $"batch {id}: {why}";
        }

        _free.Push(batch);
    }

    /// <summary>A message that is only a BatchResult (RuntimeMessage field 2): its body.</summary>
    internal static bool IsResult(ReadOnlySpan<byte> message, out ReadOnlySpan<byte> result)
    {
        result = default;
        if (message.IsEmpty || message[0] != ResultTag)
        {
            return false;
        }

        var pos = 1;
        var start = ProtoWire.ReadLength(message, ref pos, out var length);
        if (start + length != message.Length)
        {
            return false;
        }

        result = message.Slice(start, length);
        return true;
    }

    /// <summary>BatchResult field 1.</summary>
    internal static ulong BatchId(ReadOnlySpan<byte> result)
    {
        var pos = 0;
        while (pos < result.Length)
        {
            var tag = ProtoWire.ReadTag(result, ref pos);
            if (tag == ((1 << 3) | ProtoWire.Varint))
            {
                return ProtoWire.ReadVarint(result, ref pos);
            }

            ProtoWire.Skip(result, ref pos, tag);
        }

        return 0;
    }

    /// <summary>
    /// Compares a BatchResult's items (field 2, in input order) with the values sent: an item is
    /// right when it is ok (ItemResult field 1) with exactly one output whose value (Output field
    /// 2) equals its input. Missing and surplus items are wrong.
    /// </summary>
    internal static (long Ok, long Wrong, string? FirstWhy) CompareItems(ReadOnlySpan<byte> result, byte[][] expected)
    {
        long ok = 0, wrong = 0;
        string? why = null;
        var index = 0;
        var pos = 0;
        while (pos < result.Length)
        {
            var tag = ProtoWire.ReadTag(result, ref pos);
            if (tag != ((2 << 3) | ProtoWire.LengthDelimited))
            {
                ProtoWire.Skip(result, ref pos, tag);
                continue;
            }

            var start = ProtoWire.ReadLength(result, ref pos, out var length);
            var problem = index < expected.Length
                ? CompareItem(result.Slice(start, length), expected[index])
                : "an item the batch did not have";
            if (problem is null)
            {
                ok++;
            }
            else
            {
                wrong++;
                why ??= $"item {index}: {problem}";
            }

            index++;
        }

        if (index < expected.Length)
        {
            wrong += expected.Length - index;
            why ??= $"{expected.Length - index} of {expected.Length} item(s) missing from the result";
        }

        return (ok, wrong, why);
    }

    private static string? CompareItem(ReadOnlySpan<byte> item, byte[] expected)
    {
        var outputs = 0;
        var okSeen = false;
        string? problem = null;
        var pos = 0;
        while (pos < item.Length)
        {
            var tag = ProtoWire.ReadTag(item, ref pos);
            if (tag == ((2 << 3) | ProtoWire.LengthDelimited))
            {
                return "failed (an ItemError)";
            }

            if (tag != ((1 << 3) | ProtoWire.LengthDelimited))
            {
                ProtoWire.Skip(item, ref pos, tag);
                continue;
            }

            okSeen = true;
            var listStart = ProtoWire.ReadLength(item, ref pos, out var listLength);
            var list = item.Slice(listStart, listLength);
            var p = 0;
            while (p < list.Length)
            {
                var t = ProtoWire.ReadTag(list, ref p);
                if (t != ((1 << 3) | ProtoWire.LengthDelimited))
                {
                    ProtoWire.Skip(list, ref p, t);
                    continue;
                }

                var outputStart = ProtoWire.ReadLength(list, ref p, out var outputLength);
                outputs++;
                if (!ValueOf(list.Slice(outputStart, outputLength)).SequenceEqual(expected))
                {
                    problem ??= "an output that is not its input";
                }
            }
        }

        return !okSeen ? "neither ok nor failed"
            : outputs != 1 ? $"{outputs} outputs, not 1"
            : problem;
    }

    /// <summary>Output field 2; empty when absent (proto3 leaves out an empty value).</summary>
    private static ReadOnlySpan<byte> ValueOf(ReadOnlySpan<byte> output)
    {
        var value = ReadOnlySpan<byte>.Empty;
        var pos = 0;
        while (pos < output.Length)
        {
            var tag = ProtoWire.ReadTag(output, ref pos);
            if (tag == ((2 << 3) | ProtoWire.LengthDelimited))
            {
                var start = ProtoWire.ReadLength(output, ref pos, out var length);
                value = output.Slice(start, length);
            }
            else
            {
                ProtoWire.Skip(output, ref pos, tag);
            }
        }

        return value;
    }
}

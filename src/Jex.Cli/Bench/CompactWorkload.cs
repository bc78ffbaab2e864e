using Google.Protobuf;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;

namespace Jex.Cli.Bench;

/// <summary>
/// What a <c>compact</c> cell sends: Hazelcast <c>Data</c> made with the project's codec, as a
/// Java member's serialization service would. The value is Compact
/// <c>bench-record {id: INT64, payload: ARRAY_OF_INT8}</c> (the samples' <c>BenchRecord</c>), its
/// payload array sized so the whole value is as long as the cell's payload, so MB/s compares with
/// the raw cells. Keys are Hazelcast longs. The user functions bind the record to a POCO, so the
/// runtime decodes and encodes every value.
/// </summary>
internal sealed class CompactWorkload
{
    public const string FormatName = "compact";

    /// <summary>The record's id, a value whose bytes are all different (a byte-order slip shows).</summary>
    public const long RecordId = 0x0102030405060708;

    public static readonly Schema RecordSchema = new(
        "bench-record",
        [new FieldDescriptor("id", FieldKind.INT64), new FieldDescriptor("payload", FieldKind.ARRAY_OF_INT8)]);

    private readonly SchemaRegistry _schemas = new();

    private CompactWorkload(sbyte[] payload, byte[] value)
    {
        Payload = payload;
        Value = UnsafeByteOperations.UnsafeWrap(value);
        _schemas.Register(RecordSchema);
    }

    /// <summary>The record's payload field.</summary>
    public sbyte[] Payload { get; }

    /// <summary>The record as Hazelcast Data; built once and shared by every item.</summary>
    public ByteString Value { get; }

    /// <summary>
    /// The workload for a payload size. The envelope, schema id, data length, id, array length and
    /// offset table take 33 bytes or more, so below that the payload array is empty and the value
    /// is longer than asked; at an offset-table width step the value can be one byte short.
    /// </summary>
    public static CompactWorkload For(int size)
    {
        var length = Math.Max(0, size - Encode([]).Length);
        var value = Encode(Pattern(length));
        while (length > 0 && value.Length > size)
        {
            length--;
            value = Encode(Pattern(length));
        }

        return new CompactWorkload(Pattern(length), value);
    }

    /// <summary>The sample function that runs <paramref name="function"/> over Compact values.</summary>
    public static string UserFunction(string function) => function switch
    {
        "identity" => "compactEcho",
        "burn1us" => "compactBurn1us",
        _ => function,
    };

    /// <summary>The key of the item at <paramref name="index"/> in a batch: a Hazelcast long.</summary>
    public static ByteString KeyFor(int index) => UnsafeByteOperations.UnsafeWrap(HazelcastSerializer.Serialize((long)index));

    /// <summary>The Schemas message the member sends before the first batch.</summary>
    public static Schemas SchemasMessage()
    {
        var proto = new CompactSchema { Id = RecordSchema.Id, TypeName = RecordSchema.TypeName };
        proto.Fields.AddRange(RecordSchema.Fields.Select(f => new CompactField { Name = f.Name, Kind = (int)f.Kind }));
        return new Schemas { Schemas_ = { proto } };
    }

    /// <summary>Keeps the schemas the runtime announces for its outputs, to decode them.</summary>
    public void Learn(Schemas schemas)
    {
        foreach (var s in schemas.Schemas_)
        {
            var schema = new Schema(s.TypeName, s.Fields.Select(f => new FieldDescriptor(f.Name, (FieldKind)f.Kind)));
            if (schema.Id != s.Id)
            {
                throw new InvalidOperationException($"the runtime announced schema '{s.TypeName}' with id {s.Id}, but its fields give id {schema.Id}");
            }

            _schemas.Register(schema);
        }
    }

    /// <summary>Decodes a Data value with the schemas known so far.</summary>
    public CompactRecord Decode(ReadOnlyMemory<byte> data) =>
        HazelcastSerializer.Deserialize(data, _schemas) as CompactRecord
            ?? throw new InvalidOperationException("the value is not a Compact object");

    /// <summary>Throws unless <paramref name="data"/> is the record this workload sent (the functions echo it).</summary>
    public void CheckOutput(ReadOnlyMemory<byte> data, string where)
    {
        CompactRecord record;
        try
        {
            record = Decode(data);
        }
        catch (Exception e) when (e is Jex.Hazelcast.HazelcastCodecException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{where}: the output value does not decode: {e.Message}", e);
        }

        if (record.TypeName != RecordSchema.TypeName
            || record["id"] is not long id || id != RecordId
            || record["payload"] is not sbyte[] payload || !payload.AsSpan().SequenceEqual(Payload))
        {
            throw new InvalidOperationException($"{where}: the output is {record}, not the bench-record sent (id {RecordId}, {Payload.Length} B payload)");
        }
    }

    private static sbyte[] Pattern(int length)
    {
        var payload = new sbyte[length];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (sbyte)i;
        }

        return payload;
    }

    private static byte[] Encode(sbyte[] payload) => HazelcastSerializer.Serialize(new CompactRecord(RecordSchema, Values(payload)));

    // The record's values in the schema's field order (Hazelcast sorts fields by name).
    private static object?[] Values(sbyte[] payload)
    {
        var values = new object?[RecordSchema.Fields.Count];
        values[RecordSchema.Find("id")!.Ordinal] = RecordId;
        values[RecordSchema.Find("payload")!.Ordinal] = payload;
        return values;
    }
}

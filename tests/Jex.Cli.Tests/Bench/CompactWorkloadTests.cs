using Google.Protobuf;
using Jex.Cli.Bench;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;

namespace Jex.Cli.Tests.Bench;

/// <summary>
/// The bytes jex bench sends in its Compact cells, decoded independently with Jex.Hazelcast, and
/// the check it applies to what comes back.
/// </summary>
public sealed class CompactWorkloadTests
{
    // Written out here rather than taken from CompactWorkload, so a change to the record shows.
    private static readonly Schema BenchRecord = new(
        "bench-record",
        [new FieldDescriptor("id", FieldKind.INT64), new FieldDescriptor("payload", FieldKind.ARRAY_OF_INT8)]);

    private static CompactRecord Decode(ByteString data)
    {
        var registry = new SchemaRegistry();
        registry.Register(BenchRecord);
        return Assert.IsType<CompactRecord>(HazelcastSerializer.Deserialize(data.Memory, registry));
    }

    private static byte[] Encode(long id, sbyte[] payload)
    {
        var values = new object?[2];
        values[BenchRecord.Find("id")!.Ordinal] = id;
        values[BenchRecord.Find("payload")!.Ordinal] = payload;
        return HazelcastSerializer.Serialize(new CompactRecord(BenchRecord, values));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(1024)]
    [InlineData(16 * 1024)]
    public void For_EachMatrixPayload_SendsABenchRecordWhoseDataIsExactlyThatLong(int size)
    {
        var workload = CompactWorkload.For(size);

        Assert.Equal(size, workload.Value.Length);
        var record = Decode(workload.Value);
        Assert.Equal("bench-record", record.TypeName);
        Assert.Equal(BenchRecord.Id, record.Schema.Id);
        Assert.Equal(CompactWorkload.RecordId, Assert.IsType<long>(record["id"]));
        var payload = Assert.IsType<sbyte[]>(record["payload"]);
        Assert.Equal(workload.Payload, payload);
        Assert.True(payload.Length > size - 40, $"{payload.Length} B of payload in a {size} B value");
        Assert.All(Enumerable.Range(0, payload.Length), i => Assert.Equal((sbyte)i, payload[i]));
    }

    [Fact]
    public void For_PayloadSmallerThanTheRecordsOverhead_SendsAnEmptyPayload()
    {
        var workload = CompactWorkload.For(8);

        var record = Decode(workload.Value);
        Assert.Empty(Assert.IsType<sbyte[]>(record["payload"]));
        Assert.Equal(CompactWorkload.RecordId, record["id"]);
        Assert.True(workload.Value.Length > 8);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void KeyFor_IsTheHazelcastLongOfTheItemsIndex(int index) =>
        Assert.Equal((long)index, HazelcastSerializer.Deserialize(CompactWorkload.KeyFor(index).Memory, new SchemaRegistry()));

    [Fact]
    public void SchemasMessage_AnnouncesTheRecordSchemaWithItsFingerprint()
    {
        var schema = Assert.Single(CompactWorkload.SchemasMessage().Schemas_);

        Assert.Equal(BenchRecord.Id, schema.Id);
        Assert.Equal("bench-record", schema.TypeName);
        Assert.Equal(
            BenchRecord.Fields.Select(f => (f.Name, (int)f.Kind)),
            schema.Fields.Select(f => (f.Name, f.Kind)));
    }

    [Fact]
    public void CheckOutput_OnTheRecordSent_Passes()
    {
        var workload = CompactWorkload.For(64);

        workload.CheckOutput(Encode(CompactWorkload.RecordId, workload.Payload), "item 0");
    }

    [Fact]
    public void CheckOutput_OnAnotherId_ThrowsNamingTheItem()
    {
        var workload = CompactWorkload.For(64);

        var e = Assert.Throws<InvalidOperationException>(() => workload.CheckOutput(Encode(7, workload.Payload), "batch 3, item 0"));
        Assert.Contains("batch 3, item 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("id=7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckOutput_OnAnAlteredPayload_Throws()
    {
        var workload = CompactWorkload.For(64);
        var payload = (sbyte[])workload.Payload.Clone();
        payload[^1]++;

        Assert.Throws<InvalidOperationException>(() => workload.CheckOutput(Encode(CompactWorkload.RecordId, payload), "item 0"));
    }

    [Fact]
    public void CheckOutput_OnBytesThatAreNotCompact_ThrowsNamingTheItem()
    {
        var workload = CompactWorkload.For(64);

        var e = Assert.Throws<InvalidOperationException>(() => workload.CheckOutput(HazelcastSerializer.Serialize("not a record"), "item 0"));
        Assert.Contains("item 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckOutput_OnARecordWithASchemaTheRuntimeNeverAnnounced_ThrowsNamingTheItem()
    {
        var workload = CompactWorkload.For(64);
        var other = new Schema("bench-record", [new FieldDescriptor("id", FieldKind.INT32)]);

        var e = Assert.Throws<InvalidOperationException>(() => workload.CheckOutput(HazelcastSerializer.Serialize(new CompactRecord(other, [1])), "item 0"));
        Assert.Contains("item 0", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("identity", "compactEcho")]
    [InlineData("burn1us", "compactBurn1us")]
    [InlineData("compactEcho", "compactEcho")]
    public void UserFunction_OfACompactCell_IsTheCompactCounterpart(string function, string expected)
    {
        Assert.Equal(expected, new Cell("direct", 64, 1, 1, function, "compact").UserFunction);
        Assert.Equal(function, new Cell("direct", 64, 1, 1, function, "raw").UserFunction);
    }
}

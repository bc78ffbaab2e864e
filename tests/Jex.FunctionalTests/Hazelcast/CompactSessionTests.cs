using System.Globalization;
using Google.Protobuf;
using Jex.FunctionalTests.Infrastructure;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Hazelcast;

/// <summary>
/// The demo in Hazelcast form against a real jex-runtime over gRPC: the member announces
/// <c>some-thing</c>, sends Compact values keyed by Hazelcast strings, and gets <c>other-thing</c>
/// values back, with the new schema sent before the first result that uses it. The bytes come from
/// the project's codec, which the vectors tier proves against hazelcast-client.
/// </summary>
public sealed class CompactSessionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly Schema SomeThing = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThing = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);
    // Never announced: its id is unknown to the runtime.
    private static readonly Schema Unannounced = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32), new FieldDescriptor("extra", FieldKind.INT64)]);

    private readonly string _scratch = Paths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task WithRuntime(TransportKind kind, Func<RuntimeProcess, Task> body)
    {
        await using var runtime = await Transports.StartRuntimeAsync(kind, _scratch);
        try
        {
            await body(runtime);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    private static Init HazelcastInit()
    {
        var init = TestSession.InitFor("doThingDotnet");
        init.KeyFormat = Format.Hazelcast;
        init.ValueFormat = Format.Hazelcast;
        return init;
    }

    private static ByteString Data(object? value) => ByteString.CopyFrom(HazelcastSerializer.Serialize(value));

    private static Item CompactItem(string key, Schema schema, params object?[] values) => new()
    {
        Key = Data(key),
        Value = Data(new CompactRecord(schema, values)),
        TimestampMs = 1_700_000_000_000,
        Partition = 3,
    };

    private static Schemas SchemasOf(params Schema[] schemas)
    {
        var message = new Schemas();
        foreach (var s in schemas)
        {
            var proto = new CompactSchema { Id = s.Id, TypeName = s.TypeName };
            proto.Fields.AddRange(s.Fields.Select(f => new CompactField { Name = f.Name, Kind = (int)f.Kind }));
            message.Schemas_.Add(proto);
        }

        return message;
    }

    private static string OtherThingValue(ByteString data)
    {
        var registry = new SchemaRegistry();
        registry.Register(OtherThing);
        var record = Assert.IsType<CompactRecord>(HazelcastSerializer.Deserialize(data.Memory, registry));
        Assert.Equal("other-thing", record.TypeName);
        return Assert.IsType<string>(record["value"]);
    }

    /// <summary>Reads to the batch's result, returning the runtime messages before it (schemas, logs).</summary>
    private static async Task<(List<RuntimeMessage> Before, BatchResult Result)> ReadResultAsync(TestSession session, ulong batchId)
    {
        var before = new List<RuntimeMessage>();
        while (true)
        {
            var m = await session.ReadAsync() ?? throw new InvalidOperationException("stream ended before the result");
            if (m.Result is { } r)
            {
                Assert.Equal(batchId, r.BatchId);
                return (before, r);
            }

            before.Add(m);
        }
    }

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task DoThing_OnCompactBatchWithInBandSchemas_ReturnsOtherThingsAfterSendingTheirSchema(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            var ready = await session.OpenAsync(HazelcastInit());
            Assert.Contains("compact", ready.Capabilities);
            Assert.Equal("compact:some-thing", ready.Signature.Input);
            Assert.Equal("compact:other-thing", ready.Signature.Output);

            await session.SendAsync(new MemberMessage { Schemas = SchemasOf(SomeThing) });
            var batch = new Batch { Id = 1 };
            int[] values = [20, 0, -7, int.MaxValue, int.MinValue];
            batch.Items.AddRange(values.Select(v => CompactItem("key-" + v.ToString(CultureInfo.InvariantCulture), SomeThing, v)));
            await session.SendAsync(new MemberMessage { Batch = batch });

            var (before, result) = await ReadResultAsync(session, 1);

            var schemas = Assert.Single(before, m => m.Schemas is not null).Schemas;
            var sent = Assert.Single(schemas.Schemas_);
            Assert.Equal(OtherThing.Id, sent.Id);
            Assert.Equal("other-thing", sent.TypeName);
            Assert.Equal(("value", (int)FieldKind.STRING), (Assert.Single(sent.Fields).Name, Assert.Single(sent.Fields).Kind));
            Assert.Empty(session.Errors);

            Assert.Equal(values.Length, result.Results.Count);
            for (int i = 0; i < values.Length; i++)
            {
                var outputItem = Assert.Single(result.Results[i].Ok.Outputs_);
                Assert.Equal($"__{values[i].ToString(CultureInfo.InvariantCulture)}__", OtherThingValue(outputItem.Value));
                Assert.Equal(batch.Items[i].Key, outputItem.Key);
                Assert.Equal(Format.Hazelcast, outputItem.ValueFormat);
                Assert.Equal(Format.Hazelcast, outputItem.KeyFormat);
            }

            Assert.Equal(Data(new CompactRecord(OtherThing, ["__20__"])), result.Results[0].Ok.Outputs_[0].Value);

            // The member has the schema now: later results come without it.
            var second = new Batch { Id = 2 };
            second.Items.Add(CompactItem("key-1", SomeThing, 1));
            await session.SendAsync(new MemberMessage { Batch = second });
            var (beforeSecond, secondResult) = await ReadResultAsync(session, 2);
            Assert.DoesNotContain(beforeSecond, m => m.Schemas is not null);
            Assert.Equal("__1__", OtherThingValue(Assert.Single(secondResult.Results[0].Ok.Outputs_).Value));

            var drained = await session.DrainAsync();
            Assert.Equal(6UL, drained.Items);
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task DoThing_ItemWithUnknownSchemaId_GetsAnItemErrorWhileItsNeighboursSucceed(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(HazelcastInit());
            await session.SendAsync(new MemberMessage { Schemas = SchemasOf(SomeThing) });
            var batch = new Batch { Id = 1 };
            batch.Items.Add(CompactItem("a", SomeThing, 1));
            batch.Items.Add(CompactItem("b", Unannounced, 2, 99L));
            batch.Items.Add(CompactItem("c", SomeThing, 3));

            var result = (await session.RunAsync([batch], 1))[1];

            Assert.Equal("__1__", OtherThingValue(Assert.Single(result.Results[0].Ok.Outputs_).Value));
            var error = result.Results[1].Error;
            Assert.NotNull(error);
            Assert.Equal(ItemError.Types.Code.UnknownSchema, error.Code);
            Assert.Contains(Unannounced.Id.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
            Assert.Equal("__3__", OtherThingValue(Assert.Single(result.Results[2].Ok.Outputs_).Value));
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task Schemas_WithAnIdThatIsNotTheFingerprint_IsRefusedWithBadSchemaAndTheSessionGoesOn(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(HazelcastInit());
            var forged = SchemasOf(SomeThing);
            forged.Schemas_[0].Id = 12345;
            await session.SendAsync(new MemberMessage { Schemas = forged });

            var error = (await session.ReadUntilAsync(m => m.Error is not null)).Error;
            Assert.Equal(ProtocolError.Types.Code.BadSchema, error.Code);
            Assert.Contains("'some-thing'", error.Message, StringComparison.Ordinal);
            Assert.Contains("12345", error.Message, StringComparison.Ordinal);
            Assert.False(error.Fatal);

            // The forged id was not registered; the real one, announced next, works.
            await session.SendAsync(new MemberMessage { Schemas = SchemasOf(SomeThing) });
            var batch = new Batch { Id = 1 };
            batch.Items.Add(CompactItem("k", SomeThing, 5));
            var item = (await session.RunAsync([batch], 1))[1].Results[0];
            Assert.Equal("__5__", OtherThingValue(Assert.Single(item.Ok.Outputs_).Value));
        });

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public Task DoThing_OnJsonItems_StillAnswersInJson(TransportKind kind) =>
        WithRuntime(kind, async runtime =>
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            var init = TestSession.InitFor("doThingDotnet");
            init.ValueFormat = Format.Json;
            await session.OpenAsync(init);
            var batch = new Batch { Id = 1 };
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("{\"value\":20}") });

            var (before, result) = await ReadResultAfterSendAsync(session, batch);

            var outputItem = Assert.Single(result.Results[0].Ok.Outputs_);
            Assert.Equal(Format.Json, outputItem.ValueFormat);
            Assert.Equal("{\"value\":\"__20__\"}", TestSession.Text(outputItem.Value));
            Assert.DoesNotContain(before, m => m.Schemas is not null);
        });

    private static async Task<(List<RuntimeMessage> Before, BatchResult Result)> ReadResultAfterSendAsync(TestSession session, Batch batch)
    {
        await session.SendAsync(new MemberMessage { Batch = batch });
        return await ReadResultAsync(session, batch.Id);
    }
}

using System.Text;
using Google.Protobuf;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Jex.UserCode;

namespace Jex.Runtime.Tests.UserCode.Hazelcast;

/// <summary>Whole functions over FORMAT_HAZELCAST items, through the invoker the runtime uses.</summary>
public sealed class HazelcastInvocationTests
{
    private static readonly Schema SomeThingSchema = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThingSchema = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);

    public static class Functions
    {
        public static OtherThing DoThing(SomeThing input) => new() { Value = $"__{input.Value}__" };

        public static MapEntry<string, OtherThing> DoThingEntry(MapEntry<string, SomeThing> entry) =>
            new("out-" + entry.Key, new OtherThing { Value = $"{entry.Key}:{entry.Value.Value}" });

        public static IEnumerable<OtherThing> Twice(SomeThing input) => [new() { Value = "a" + input.Value }, new() { Value = "b" + input.Value }];
    }

    private readonly PayloadCodecs _codecs = HazelcastBindingTests.NewCodecs();

    private FunctionInvoker Create(string name) => FunctionInvokerFactory.Create(typeof(Functions).GetMethod(name)!, null, _codecs);

    private static ByteString Data(object? value) => ByteString.CopyFrom(HazelcastSerializer.Serialize(value));

    private static async Task<List<Output>> InvokeAsync(FunctionInvoker invoker, InvocationContext context, Item item)
    {
        context.MoveTo(item);
        await invoker.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return context.OutputMessages();
    }

    private InvocationContext NewSessionContext()
    {
        var context = HazelcastBindingTests.NewContext();
        HazelcastBindingTests.Register(context.Session, HazelcastBindingTests.SchemasOf(SomeThingSchema));
        return context;
    }

    [Fact]
    public async Task DoThing_OnCompactSomeThing_ReturnsCompactOtherThingKeyedLikeTheInput()
    {
        var invoker = Create(nameof(Functions.DoThing));
        Assert.Equal("compact:some-thing", invoker.SignatureFor(Format.Hazelcast, Format.Hazelcast).Input);
        Assert.Equal("compact:other-thing", invoker.SignatureFor(Format.Hazelcast, Format.Hazelcast).Output);
        var context = NewSessionContext();
        var key = Data("key-20");

        var output = Assert.Single(await InvokeAsync(invoker, context, new Item { Key = key, Value = Data(new CompactRecord(SomeThingSchema, [20])) }));

        Assert.Equal(key, output.Key);
        Assert.Equal(Format.Hazelcast, output.KeyFormat);
        Assert.Equal(Format.Hazelcast, output.ValueFormat);
        Assert.Equal(Data(new CompactRecord(OtherThingSchema, ["__20__"])), output.Value);
        Assert.Equal(OtherThingSchema.Id, Assert.Single(HazelcastBindingTests.TakePending(context.Session)).Id);
    }

    [Fact]
    public async Task DoThing_OnJsonItems_StaysJson()
    {
        var invoker = Create(nameof(Functions.DoThing));
        var context = NewSessionContext();

        var output = Assert.Single(await InvokeAsync(invoker, context, new Item
        {
            Key = ByteString.CopyFromUtf8("k"),
            KeyFormat = Format.Text,
            Value = ByteString.CopyFromUtf8("{\"value\":20}"),
            ValueFormat = Format.Json,
        }));

        Assert.Equal(Format.Json, output.ValueFormat);
        Assert.Equal("{\"value\":\"__20__\"}", Encoding.UTF8.GetString(output.Value.Span));
        Assert.Empty(HazelcastBindingTests.TakePending(context.Session));
    }

    [Fact]
    public async Task MapEntry_DecodesTheHazelcastStringKeyAndEncodesTheNewOne()
    {
        var invoker = Create(nameof(Functions.DoThingEntry));
        Assert.Equal("entry<string,compact:some-thing>", invoker.SignatureFor(Format.Hazelcast, Format.Hazelcast).Input);
        Assert.Equal("entry<string,compact:other-thing>", invoker.SignatureFor(Format.Hazelcast, Format.Hazelcast).Output);
        var context = NewSessionContext();

        var output = Assert.Single(await InvokeAsync(invoker, context,
            new Item { Key = Data("k7"), Value = Data(new CompactRecord(SomeThingSchema, [7])) }));

        Assert.Equal(Data("out-k7"), output.Key);
        Assert.Equal(Format.Hazelcast, output.KeyFormat);
        Assert.Equal(Data(new CompactRecord(OtherThingSchema, ["k7:7"])), output.Value);
    }

    [Fact]
    public async Task FlatMap_OfCompactValues_QueuesTheSchemaOnce()
    {
        var context = NewSessionContext();

        var outputs = await InvokeAsync(Create(nameof(Functions.Twice)), context,
            new Item { Key = Data("k"), Value = Data(new CompactRecord(SomeThingSchema, [1])) });

        Assert.Equal([Data(new CompactRecord(OtherThingSchema, ["a1"])), Data(new CompactRecord(OtherThingSchema, ["b1"]))], outputs.Select(o => o.Value));
        Assert.Single(HazelcastBindingTests.TakePending(context.Session));
    }

    [Fact]
    public async Task UnknownSchemaId_FailsTheItemWithUnknownSchema()
    {
        var context = HazelcastBindingTests.NewContext();

        var e = await Assert.ThrowsAsync<PayloadBindingException>(() =>
            InvokeAsync(Create(nameof(Functions.DoThing)), context, new Item { Key = Data("k"), Value = Data(new CompactRecord(SomeThingSchema, [1])) }));

        Assert.Equal(ItemError.Types.Code.UnknownSchema, e.Code);
    }
}

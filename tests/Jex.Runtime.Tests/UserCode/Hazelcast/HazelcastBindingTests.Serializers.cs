using Jex.Hazelcast.Compact;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode.Hazelcast;
using Jex.UserCode;

namespace Jex.Runtime.Tests.UserCode.Hazelcast;

/// <summary>User Compact serializers, type descriptions, refused mappings and the demo path's allocations.</summary>
public sealed partial class HazelcastBindingTests
{
    [Fact]
    public void UserSerializer_DefinesTheSchemaOnFirstWriteAndReadsWithTheWriterSchema()
    {
        var session = NewSession();
        var value = new Temperature { Sensor = "s-1", Celsius = 21.5, History = [20, 21] };

        var bytes = Write(value, NewContext(session));

        var schema = SchemaMessages.FromProto(Assert.Single(TakePending(session)));
        Assert.Equal("temperature", schema.TypeName);
        Assert.Equal(["celsius:FLOAT64", "history:ARRAY_OF_INT32", "sensor-id:STRING"], schema.Fields.Select(f => f.ToString()));
        Assert.Equal("compact:temperature", Binding.Describe(typeof(Temperature)));

        var reader = NewContext();
        Register(reader.Session, SchemasOf(schema));
        Assert.Equivalent(value, Read<Temperature>(bytes, reader), strict: true);

        // A writer schema without the optional field: the serializer asks HasField.
        var older = new Schema("temperature", [new FieldDescriptor("sensor-id", FieldKind.STRING), new FieldDescriptor("celsius", FieldKind.FLOAT64)]);
        Register(reader.Session, SchemasOf(older));
        var old = Read<Temperature>(Data(new CompactRecord(older, [21.0, "s-0"])), reader);
        Assert.Equal(("s-0", 21.0, (int[]?)null), (old.Sensor, old.Celsius, old.History));
    }

    [Fact]
    public void UserSerializer_WinsOverTheAttribute()
    {
        Assert.Equal("compact:by-serializer", Binding.Describe(typeof(Overridden)));
        var session = NewSession();
        Write(new Overridden { Value = 5 }, NewContext(session));
        Assert.Equal("by-serializer", Assert.Single(TakePending(session)).TypeName);
    }

    [Fact]
    public void Describe_NamesTheFormatsACompactTypeBindsIn_AndTheSessionsOneWhenKnown()
    {
        Assert.Equal("json:SomeThing or compact:some-thing", _codecs.Describe(typeof(SomeThing)));
        Assert.Equal("compact:some-thing", _codecs.Describe(typeof(SomeThing), Format.Hazelcast, Format.Hazelcast));
        Assert.Equal("json:SomeThing", _codecs.Describe(typeof(SomeThing), Format.Text, Format.Json));
        Assert.Equal("entry<string,compact:other-thing>", _codecs.Describe(typeof(MapEntry<string, OtherThing>), Format.Hazelcast, Format.Hazelcast));
        Assert.Equal("entry<string,json:OtherThing>", _codecs.Describe(typeof(MapEntry<string, OtherThing>), Format.Text, Format.Json));
        Assert.Equal("json:JsonPoint", _codecs.Describe(typeof(JsonPoint)));
        Assert.Equal("json:JsonPoint", _codecs.Describe(typeof(JsonPoint), Format.Hazelcast, Format.Hazelcast));
    }

    [Fact]
    public void CompactClassWithAnUnmappablePropertyType_IsRefusedWhenBoundNamingTheProperty()
    {
        var e = Assert.Throws<NotSupportedException>(() => _codecs.BinderFor<Unmappable>());

        Assert.Contains("Unmappable.Id", e.Message, StringComparison.Ordinal);
        Assert.Contains("ICompactSerializer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoPath_AllocatesOnlyTheUserObjects()
    {
        var context = NewContext();
        Register(context.Session, SchemasOf(SomeThingSchema, OtherThingSchema));
        var input = Data(new CompactRecord(SomeThingSchema, [20])).Memory;
        var item = new Item();
        var read = _codecs.BinderFor<SomeThing>();
        var write = _codecs.BinderFor<OtherThing>();
        var result = new OtherThing { Value = "__20__" };
        for (int i = 0; i < 100; i++)
        {
            context.MoveTo(item);
            read.Read(input, Format.Hazelcast, context);
            write.Write(result, Format.Hazelcast, context, out _);
        }

        const int Rounds = 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Rounds; i++)
        {
            context.MoveTo(item);
            read.Read(input, Format.Hazelcast, context);
            write.Write(result, Format.Hazelcast, context, out _);
        }

        long perRound = (GC.GetAllocatedBytesForCurrentThread() - before) / Rounds;
        // SomeThing (24 B) only: the output's bytes go to the context's pooled arena, reused per item.
        Assert.InRange(perRound, 1, 32);
    }
}

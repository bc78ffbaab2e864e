using System.Numerics;
using Google.Protobuf;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Serialization;
using Jex.Hazelcast.Values;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Jex.Runtime.UserCode.Hazelcast;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Runtime.Tests.UserCode.Hazelcast;

public sealed partial class HazelcastBindingTests
{
    private static readonly Schema SomeThingSchema = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThingSchema = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);

    private readonly PayloadCodecs _codecs = NewCodecs();

    internal static PayloadCodecs NewCodecs()
    {
        var codecs = new PayloadCodecs();
        var binding = new HazelcastBinding(codecs);
        codecs.Hazelcast = binding;
        codecs.SessionFormat = binding;
        return codecs;
    }

    private HazelcastBinding Binding => (HazelcastBinding)_codecs.Hazelcast!;

    internal static InvocationContext NewContext(SessionInfo? session = null) =>
        new(session ?? NewSession(), NullLogger.Instance, 1, CancellationToken.None);

    internal static SessionInfo NewSession() => new()
    {
        JobId = "id",
        JobName = "job",
        StageName = "stage",
        FunctionName = "f",
        KeyFormat = Format.Hazelcast,
        ValueFormat = Format.Hazelcast,
        Settings = new Dictionary<string, string>(),
        Format = new HazelcastSessionState(),
    };

    /// <summary>The member's Schemas message, as the session's reader hands it to the format.</summary>
    internal static void Register(SessionInfo session, Schemas schemas) => session.Format!.AcceptSchemas(schemas);

    /// <summary>The schemas the dispatcher would send before the next result (taking them, as it does).</summary>
    internal static List<CompactSchema> TakePending(SessionInfo session) =>
        session.Format!.TakePending()?.Schemas.Schemas_.ToList() ?? [];

    internal static Schemas SchemasOf(params Schema[] schemas)
    {
        var message = new Schemas();
        message.Schemas_.AddRange(schemas.Select(SchemaMessages.ToProto));
        return message;
    }

    internal static ByteString Data(object? value) => ByteString.CopyFrom(HazelcastSerializer.Serialize(value));

    private T Read<T>(ByteString data, InvocationContext context) => _codecs.BinderFor<T>().Read(data.Memory, Format.Hazelcast, context);

    private ByteString Write<T>(T value, InvocationContext context)
    {
        var bytes = _codecs.BinderFor<T>().Write(value, Format.Hazelcast, context, out var format);
        Assert.Equal(Format.Hazelcast, format);
        return ByteString.CopyFrom(bytes.Span);
    }

    private static object? Decode(ByteString data, params Schema[] schemas)
    {
        var registry = new SchemaRegistry();
        foreach (var s in schemas)
        {
            registry.Register(s);
        }

        return HazelcastSerializer.Deserialize(data.Memory, registry);
    }

    [Fact]
    public void Read_CompactSomeThingWithAnnouncedSchema_BindsFieldValueToPropertyValue()
    {
        var context = NewContext();
        Register(context.Session, SchemasOf(SomeThingSchema));

        var value = Read<SomeThing>(Data(new CompactRecord(SomeThingSchema, [20])), context);

        Assert.Equal(20, value.Value);
    }

    [Fact]
    public void Write_OtherThing_IsTheBytesTheCodecWritesForTheSameRecord()
    {
        var bytes = Write(new OtherThing { Value = "__20__" }, NewContext());

        Assert.Equal(HazelcastSerializer.Serialize(new CompactRecord(OtherThingSchema, ["__20__"])), bytes.ToByteArray());
        var record = Assert.IsType<CompactRecord>(Decode(bytes, OtherThingSchema));
        Assert.Equal("__20__", record["value"]);
    }

    [Fact]
    public void Read_UnknownSchemaId_FailsWithUnknownSchemaNamingTheId()
    {
        var context = NewContext();

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(SomeThingSchema, [1])), context));

        Assert.Equal(ItemError.Types.Code.UnknownSchema, e.Code);
        Assert.Contains(SomeThingSchema.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SchemaAnnouncedInAnotherSession_IsUnknownInThisOne()
    {
        Register(NewSession(), SchemasOf(SomeThingSchema));

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(SomeThingSchema, [1])), NewContext()));

        Assert.Equal(ItemError.Types.Code.UnknownSchema, e.Code);
    }

    [Fact]
    public void Read_WhenTheWriterSchemaLacksAPropertyField_FailsNamingTheField()
    {
        var noValue = new Schema("some-thing", [new FieldDescriptor("amount", FieldKind.INT32)]);
        var context = NewContext();
        Register(context.Session, SchemasOf(noValue));

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(noValue, [5])), context));

        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Contains("field 'value'", e.Message, StringComparison.Ordinal);
        Assert.Contains("some-thing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WhenTheFieldHasAnotherKind_FailsNamingFieldAndKind()
    {
        var stringValue = new Schema("some-thing", [new FieldDescriptor("value", FieldKind.STRING)]);
        var context = NewContext();
        Register(context.Session, SchemasOf(stringValue));

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(stringValue, ["20"])), context));

        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Contains("field 'value'", e.Message, StringComparison.Ordinal);
        Assert.Contains("STRING", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WriterSchemaWithOtherCaseExtraFieldsAndNullableKind_BindsCaseInsensitively()
    {
        var javaStyle = new Schema("some-thing", [new FieldDescriptor("VALUE", FieldKind.NULLABLE_INT32), new FieldDescriptor("extra", FieldKind.STRING)]);
        var context = NewContext();
        Register(context.Session, SchemasOf(javaStyle));

        Assert.Equal(7, Read<SomeThing>(Data(new CompactRecord(javaStyle, [7, "ignored"])), context).Value);

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(javaStyle, [null, "x"])), context));
        Assert.Contains("field 'VALUE'", e.Message, StringComparison.Ordinal);
        Assert.Contains("null", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NullIntoANonNullableReferenceProperty_FailsNamingTheField()
    {
        var schema = new Schema("strict", [new FieldDescriptor("name", FieldKind.STRING), new FieldDescriptor("nick", FieldKind.STRING)]);
        var context = NewContext();
        Register(context.Session, SchemasOf(schema));

        var ok = Read<Strict>(Data(new CompactRecord(schema, ["n", null])), context);
        Assert.Equal(("n", (string?)null), (ok.Name, ok.Nick));

        var e = Assert.Throws<PayloadBindingException>(() => Read<Strict>(Data(new CompactRecord(schema, [null, "x"])), context));
        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Contains("field 'name'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not nullable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_CompactOfAnotherTypeName_FailsNamingBothNames()
    {
        var context = NewContext();
        Register(context.Session, SchemasOf(OtherThingSchema));

        var e = Assert.Throws<PayloadBindingException>(() => Read<SomeThing>(Data(new CompactRecord(OtherThingSchema, ["x"])), context));

        Assert.Contains("'other-thing'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'some-thing'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedCompact_FailsWithDecode()
    {
        var context = NewContext();
        Register(context.Session, SchemasOf(OtherThingSchema));
        var bytes = HazelcastSerializer.Serialize(new CompactRecord(OtherThingSchema, ["hello"]));

        var e = Assert.Throws<PayloadBindingException>(() => Read<OtherThing>(ByteString.CopyFrom(bytes, 0, bytes.Length - 3), context));

        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuiltIns_ReadWhatTheCodecWritesAndWriteTheSameBytes()
    {
        var context = NewContext();
        var guid = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");

        Assert.Equal("héllo 😀", Read<string>(Data("héllo 😀"), context));
        Assert.Equal(-5, Read<int>(Data(-5), context));
        Assert.Equal(long.MinValue, Read<long>(Data(long.MinValue), context));
        Assert.Equal(7L, Read<long>(Data(7), context));
        Assert.Equal(1.5, Read<double>(Data(1.5), context));
        Assert.True(Read<bool>(Data(true), context));
        Assert.Equal(guid, Read<Guid>(Data(guid), context));
        Assert.Equal(new byte[] { 1, 2, 3 }, Read<byte[]>(Data(new byte[] { 1, 2, 3 }), context));
        Assert.Equal(new[] { 1, 2 }, Read<int[]>(Data(new[] { 1, 2 }), context));
        Assert.Null(Read<int?>(ByteString.Empty, context));
        Assert.Null(Read<string>(Data(null), context));

        Assert.Equal(Data("héllo 😀"), Write<string?>("héllo 😀", context));
        Assert.Equal(Data(42), Write(42, context));
        Assert.Equal(Data(42L), Write(42L, context));
        Assert.Equal(Data(guid), Write(guid, context));
        Assert.Equal(Data(new byte[] { 9 }), Write<byte[]?>([9], context));
        Assert.Equal(ByteString.Empty, Write<string?>(null, context));
    }

    [Fact]
    public void BuiltIns_WrongTypeOrLossyNarrowing_FailWithDecode()
    {
        var context = NewContext();

        var mismatch = Assert.Throws<PayloadBindingException>(() => Read<int>(Data("20"), context));
        Assert.Equal(ItemError.Types.Code.Decode, mismatch.Code);
        Assert.Contains("-11", mismatch.Message, StringComparison.Ordinal);

        var narrowing = Assert.Throws<PayloadBindingException>(() => Read<int>(Data(long.MaxValue), context));
        Assert.Contains("does not fit", narrowing.Message, StringComparison.Ordinal);

        var nullIntoInt = Assert.Throws<PayloadBindingException>(() => Read<int>(ByteString.Empty, context));
        Assert.Contains("null", nullIntoInt.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void String_ReadsTheTextOfAHazelcastJsonValue()
    {
        Assert.Equal("{\"a\":1}", Read<string>(Data(new HazelcastJsonValue("{\"a\":1}")), NewContext()));
    }

    [Fact]
    public void PlainClass_IsBoundFromAndWrittenAsHazelcastJsonValue()
    {
        var context = NewContext();

        var point = Read<JsonPoint>(Data(new HazelcastJsonValue("{\"X\":1,\"y\":2}")), context);
        Assert.Equal((1, 2), (point.X, point.Y));

        var written = Write(new JsonPoint { X = 3, Y = 4 }, context);
        var json = Assert.IsType<HazelcastJsonValue>(Decode(written));
        Assert.Equal("{\"x\":3,\"y\":4}", json.Text);

        Register(context.Session, SchemasOf(SomeThingSchema));
        var e = Assert.Throws<PayloadBindingException>(() => Read<JsonPoint>(Data(new CompactRecord(SomeThingSchema, [1])), context));
        Assert.Contains("[CompactType", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CompactClass_AlsoBindsFromHazelcastJsonValue()
    {
        Assert.Equal(3, Read<SomeThing>(Data(new HazelcastJsonValue("{\"value\":3}")), NewContext()).Value);
    }

    [Fact]
    public void EveryPropertyKind_RoundTripsAndMatchesTheGenericCodecByteForByte()
    {
        var value = new Everything
        {
            Flag = true,
            Tiny = -8,
            Small = 300,
            Count = 123456,
            Big = long.MinValue,
            Ratio = 0.25f,
            Precise = -0.0,
            MaybeCount = null,
            MaybeFlag = false,
            Name = "ñame 😀",
            Amount = -12345.678m,
            MaybeAmount = 1m,
            Day = new DateOnly(2024, 2, 29),
            At = new TimeOnly(13, 45, 30, 120),
            Stamp = new DateTime(1999, 12, 31, 23, 59, 59),
            Zoned = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5.5)),
            Home = new Address { City = "Zürich", Zip = 8000 },
            Others = [new Address { City = "a", Zip = 1 }, null, new Address { City = null, Zip = 2 }],
            Numbers = [1, -1, int.MaxValue],
            MaybeLongs = [1, null, 3],
            Tags = ["x", null, ""],
            Blob = [0, 255, 128],
            Days = [null, new DateOnly(1, 1, 1)],
        };
        var session = NewSession();

        var bytes = Write(value, NewContext(session));

        // The schemas the member needs: the type itself and the nested one.
        var schemas = TakePending(session).Select(SchemaMessages.FromProto).ToArray();
        Assert.Equal(["address", "everything"], schemas.Select(s => s.TypeName).Order());
        var everything = schemas.Single(s => s.TypeName == "everything");
        var address = schemas.Single(s => s.TypeName == "address");
        Assert.Equal(FieldKind.ARRAY_OF_COMPACT, everything.Find("others")!.Kind);
        Assert.Equal(FieldKind.NULLABLE_INT32, everything.Find("maybeCount")!.Kind);
        Assert.Equal(FieldKind.TIMESTAMP_WITH_TIMEZONE, everything.Find("zoned")!.Kind);
        Assert.Equal(FieldKind.ARRAY_OF_INT8, everything.Find("blob")!.Kind);

        // Independently: the generic codec (proven byte-identical to hazelcast-client by the vectors) writes the same bytes.
        var record = Assert.IsType<CompactRecord>(Decode(bytes, schemas));
        Assert.Equal(bytes.ToByteArray(), HazelcastSerializer.Serialize(record));
        Assert.Equal("Zürich", ((CompactRecord)record["home"]!)["city"]);
        Assert.Equal(new HzDecimal(new BigInteger(-12345678), 3), record["amount"]);

        // And back, in another session that learned the schemas from the member.
        var reader = NewContext();
        Register(reader.Session, SchemasOf(schemas));
        var back = Read<Everything>(bytes, reader);
        Assert.Equivalent(value, back, strict: true);
    }

    [Fact]
    public void SelfReferencingClass_NestsAndRoundTrips()
    {
        var session = NewSession();
        var bytes = Write(new Node { Value = 1, Next = new Node { Value = 2, Next = new Node { Value = 3 } } }, NewContext(session));
        var reader = NewContext();
        Register(reader.Session, new Schemas { Schemas_ = { TakePending(session) } });

        var node = Read<Node>(bytes, reader);

        Assert.Equal([1, 2, 3], new[] { node, node.Next!, node.Next!.Next! }.Select(n => n.Value));
        Assert.Null(node.Next!.Next!.Next);
    }
}

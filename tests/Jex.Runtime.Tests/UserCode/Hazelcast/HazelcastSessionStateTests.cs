using Google.Protobuf;
using Jex.Hazelcast.Compact;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;
using Jex.Runtime.UserCode.Hazelcast;

namespace Jex.Runtime.Tests.UserCode.Hazelcast;

/// <summary>
/// A session's Compact schemas, the Hazelcast format's per-session state behind the dispatcher's
/// format hook: the member's announced schemas in, each schema user code writes out exactly once.
/// </summary>
public sealed class HazelcastSessionStateTests
{
    private static readonly Schema SomeThingSchema = new("some-thing", [new FieldDescriptor("value", FieldKind.INT32)]);
    private static readonly Schema OtherThingSchema = new("other-thing", [new FieldDescriptor("value", FieldKind.STRING)]);

    private readonly BindingTester _binding = new();

    private static SessionInfo NewSession() => HazelcastBindingTests.NewSession();

    private static InvocationContext NewContext(SessionInfo? session = null) => HazelcastBindingTests.NewContext(session);

    private static Schemas SchemasOf(params Schema[] schemas) => HazelcastBindingTests.SchemasOf(schemas);

    private static void Register(SessionInfo session, Schemas schemas) => HazelcastBindingTests.Register(session, schemas);

    private static List<CompactSchema> TakePending(SessionInfo session) => HazelcastBindingTests.TakePending(session);

    [Fact]
    public void Write_NewSchema_IsQueuedForTheMemberOnceASession()
    {
        var session = NewSession();
        _binding.Write(new OtherThing { Value = "a" }, NewContext(session));
        _binding.Write(new OtherThing { Value = "b" }, NewContext(session));

        var pending = Assert.Single(TakePending(session));
        Assert.Equal(OtherThingSchema.Id, pending.Id);
        Assert.Equal("other-thing", pending.TypeName);
        var field = Assert.Single(pending.Fields);
        Assert.Equal("value", field.Name);
        Assert.Equal((int)FieldKind.STRING, field.Kind);

        var other = NewSession();
        _binding.Write(new OtherThing { Value = "c" }, NewContext(other));
        Assert.Single(TakePending(other));
    }

    [Fact]
    public void Write_SchemaTheMemberAnnounced_IsNotSentBack()
    {
        var session = NewSession();
        Register(session, SchemasOf(OtherThingSchema));

        _binding.Write(new OtherThing { Value = "a" }, NewContext(session));

        Assert.Empty(TakePending(session));
    }

    [Fact]
    public async Task Write_FromManyThreadsAtOnce_QueuesTheSchemaExactlyOnce()
    {
        var session = NewSession();
        using var start = new Barrier(4);
        var writers = Enumerable.Range(0, 4).Select(i => Task.Run(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            for (int j = 0; j < 50; j++)
            {
                _binding.Write(new OtherThing { Value = $"{i}-{j}" }, NewContext(session));
            }
        }));

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Single(TakePending(session));
    }

    [Fact]
    public void Register_WhenTheIdDoesNotMatchTheFingerprint_FailsNamingTheType()
    {
        var message = SchemasOf(SomeThingSchema, OtherThingSchema);
        message.Schemas_[0].Id += 1;
        var session = NewSession();

        var e = Assert.Throws<PayloadBindingException>(() => Register(session, message));

        Assert.Contains("'some-thing'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("other-thing", e.Message, StringComparison.Ordinal);
        // The good schema of the same message is kept.
        Assert.Equal("x", _binding.Read<OtherThing>(HazelcastBindingTests.Data(new CompactRecord(OtherThingSchema, ["x"])), NewContext(session)).Value);
    }

    [Fact]
    public void Register_UnknownFieldKind_FailsNamingTheField()
    {
        var message = new Schemas { Schemas_ = { new CompactSchema { Id = 1, TypeName = "t", Fields = { new CompactField { Name = "f", Kind = 99 } } } } };

        var e = Assert.Throws<PayloadBindingException>(() => Register(NewSession(), message));

        Assert.Contains("field 'f'", e.Message, StringComparison.Ordinal);
        Assert.Contains("99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TakePending_GivesEachQueuedSchemaOnce()
    {
        var session = NewSession();
        _binding.Write(new OtherThing { Value = "a" }, NewContext(session));

        Assert.Equal(OtherThingSchema.Id, Assert.Single(TakePending(session)).Id);
        Assert.Null(session.Format!.TakePending());
        _binding.Write(new OtherThing { Value = "b" }, NewContext(session));
        Assert.Null(session.Format.TakePending());
    }

    [Fact]
    public void TakePending_WithNothingNew_AllocatesNothing()
    {
        var format = new HazelcastSessionState();
        format.TakePending();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Assert.Null(format.TakePending());
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void StartSession_GivesEachSessionItsOwnState()
    {
        var binding = new HazelcastBinding(new PayloadCodecs());

        var first = binding.StartSession();
        first.AcceptSchemas(SchemasOf(SomeThingSchema));

        Assert.NotSame(first, binding.StartSession());
        Assert.Equal("compact", binding.Capability);
    }

    /// <summary>Hazelcast reads and writes through the binders, as a function's would.</summary>
    private sealed class BindingTester
    {
        private readonly PayloadCodecs _codecs = HazelcastBindingTests.NewCodecs();

        public T Read<T>(ByteString data, InvocationContext context) => _codecs.BinderFor<T>().Read(data.Memory, Format.Hazelcast, context);

        public void Write<T>(T value, InvocationContext context) => _codecs.BinderFor<T>().Write(value, Format.Hazelcast, context, out _);
    }
}

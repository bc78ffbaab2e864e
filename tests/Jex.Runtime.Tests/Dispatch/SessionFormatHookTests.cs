using System.Collections.Concurrent;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// The dispatcher's only contact with a stateful payload format: a session per Init, the member's
/// Schemas handed to it, its pending messages sent before the result of the batch that caused them.
/// </summary>
public sealed class SessionFormatHookTests
{
    public static class Functions
    {
        internal static FakeFormat Format = new();

        /// <summary>"new" asks the session's format to queue a message, as a first Compact write does.</summary>
        public static string Echo(string value)
        {
            if (value == "new")
            {
                Format.Last!.Queue(value);
            }

            return value;
        }
    }

    internal sealed class FakeFormat : IPayloadFormat
    {
        public FakeSession? Last { get; private set; }

        public string Capability => "fake-format";

        public IFormatSession StartSession() => Last = new FakeSession();
    }

    internal sealed class FakeSession : IFormatSession
    {
        private readonly ConcurrentQueue<string> _pending = new();

        public ConcurrentQueue<Schemas> Accepted { get; } = new();

        public int Takes;

        public void Queue(string typeName) => _pending.Enqueue(typeName);

        public void AcceptSchemas(Schemas schemas)
        {
            if (schemas.Schemas_.Any(s => s.TypeName == "bad"))
            {
                throw new PayloadBindingException("schema 'bad' is bad");
            }

            Accepted.Enqueue(schemas);
        }

        public RuntimeMessage? TakePending()
        {
            Interlocked.Increment(ref Takes);
            if (!_pending.TryDequeue(out var name))
            {
                return null;
            }

            return new RuntimeMessage { Schemas = new Schemas { Schemas_ = { new CompactSchema { Id = 9, TypeName = name } } } };
        }
    }

    private static SessionHarness Start()
    {
        Functions.Format = new FakeFormat();
        var codecs = new PayloadCodecs { SessionFormat = Functions.Format };
        return new SessionHarness(typeof(Functions), codecs, nameof(Functions.Echo));
    }

    private static MemberMessage Batch(ulong id, string value) =>
        new() { Batch = new Batch { Id = id, Items = { new Item { Value = ByteString.CopyFromUtf8(value), ValueFormat = Format.Text } } } };

    [Fact]
    public async Task Init_StartsOneFormatSession_AndReadyAdvertisesItsCapability()
    {
        await using var harness = Start();

        var ready = await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.Echo), Format.Text));

        Assert.Contains("fake-format", ready.Capabilities);
        Assert.NotNull(Functions.Format.Last);
    }

    [Fact]
    public async Task PendingMessage_ReachesTheMemberBeforeTheResultOfItsBatch_AndOnlyOnce()
    {
        await using var harness = Start();
        await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.Echo), Format.Text));

        await harness.SendAsync(Batch(1, "new"));
        var first = await harness.ReadAsync();
        var second = await harness.ReadAsync();
        await harness.SendAsync(Batch(2, "old"));
        var third = await harness.ReadAsync();

        Assert.Equal("new", Assert.Single(first.Schemas.Schemas_).TypeName);
        Assert.Equal(1UL, second.Result.BatchId);
        Assert.Equal(2UL, third.Result.BatchId);
        Assert.Equal(2, Volatile.Read(ref Functions.Format.Last!.Takes));
    }

    [Fact]
    public async Task MemberSchemas_GoToTheFormatSession_AndABadOneIsAProtocolErrorNamingIt()
    {
        await using var harness = Start();
        await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.Echo), Format.Text));
        var good = new Schemas { Schemas_ = { new CompactSchema { Id = 1, TypeName = "good" } } };

        await harness.SendAsync(new MemberMessage { Schemas = good });
        await harness.SendAsync(new MemberMessage { Schemas = new Schemas { Schemas_ = { new CompactSchema { Id = 2, TypeName = "bad" } } } });
        var error = (await harness.ReadAsync()).Error;

        Assert.Equal(ProtocolError.Types.Code.BadSchema, error.Code);
        Assert.Equal("schema 'bad' is bad", error.Message);
        Assert.Equal(good, Assert.Single(Functions.Format.Last!.Accepted));
    }

    [Fact]
    public async Task MemberSchemas_WithoutASessionFormat_AreAProtocolErrorSayingWhatToCheck()
    {
        await using var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), nameof(Functions.Echo));
        var ready = await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.Echo), Format.Text));

        await harness.SendAsync(new MemberMessage { Schemas = new Schemas() });
        var error = (await harness.ReadAsync()).Error;

        Assert.DoesNotContain("compact", ready.Capabilities);
        Assert.Equal(ProtocolError.Types.Code.BadSchema, error.Code);
        Assert.Contains("Ready lists the 'compact' capability", error.Message, StringComparison.Ordinal);
    }
}

using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Jex.Runtime.Configuration;
using Jex.Runtime.Deploy;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Deploy;

/// <summary>
/// Retired code is really unloaded: once no batch runs on it, nothing the runtime holds (the
/// session's binding, compiled calls, JSON metadata, Hazelcast codecs, loggers) keeps its load
/// context alive, and the garbage collector takes it.
/// </summary>
[Collection(UnloadCollection.Name)]
public sealed class CodeVersionsUnloadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the retired code gets to be collected: a hang-only bound (idle, it takes milliseconds).</summary>
    private static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(90);

    private static readonly string Samples =
        typeof(CodeVersionsUnloadTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "JexSamplesAssembly").Value!;

    [Theory]
    [InlineData("doThingDotnet", Format.Json, """{"value":41}""", false)]
    [InlineData("doThingDotnet", Format.Hazelcast, null, false)]
    [InlineData("logAndEcho", Format.Text, "hello", false)]
    // With a listener on Jex.Runtime (OTLP, dotnet-trace), batches run in Activities: they must not keep code alive.
    [InlineData("logAndEcho", Format.Text, "hello", true)]
    public async Task RetiredCode_WithNoBatchLeft_IsUnloaded_AndCollected(string function, Format format, string? value, bool traced)
    {
        using var listener = traced ? new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == Jex.Runtime.Diagnostics.RuntimeActivity.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        } : null;
        if (listener is not null)
        {
            System.Diagnostics.ActivitySource.AddActivityListener(listener);
        }

        var versions = CodeVersions.Deployable(
            dir => UserCodeLoader.Load(dir, NullLoggerFactory.Instance, PayloadCodecs.CreateDefault()), NullLogger.Instance, startup: null, startupPath: null);
        versions.Add(new Jex.Runtime.Deploy.CodeVersion("v1", "one", Samples, [], 1, 1, 0, removable: false));
        versions.Add(new Jex.Runtime.Deploy.CodeVersion("v2", "two", Samples, [], 1, 1, 0, removable: false));
        await versions.ActivateAsync("v1", CancellationToken.None).WaitAsync(Timeout);
        var first = WeakContexts(versions);

        await using (var session = new DeploySession(versions))
        {
            Assert.Equal("v1", (await session.InitAsync(function, format)).CodeVersion);
            var payload = value is null ? HazelcastString("x") : ByteString.CopyFromUtf8(value);
            var before = await session.RunAsync(1, payload, format);
            Assert.Equal("v1", before.CodeVersion);
            Assert.True(before.Results[0].OutcomeCase == ItemResult.OutcomeOneofCase.Ok, before.Results[0].ToString());

            await versions.ActivateAsync("v2", CancellationToken.None).WaitAsync(Timeout);
            var after = await session.RunAsync(2, payload, format);
            Assert.Equal("v2", after.CodeVersion);

            // The session is still open, on v2: v1 must be gone all the same.
            await AssertCollectedAsync(first);
            Assert.Equal(Jex.Protocol.V1.CodeVersion.Types.State.Unloaded, versions.List().Versions.Single(v => v.Version == "v1").State);
        }
    }

    [Fact]
    public async Task A_BatchStillRunningOnRetiredCode_KeepsItLoaded_UntilItEnds()
    {
        var versions = CodeVersions.Deployable(
            dir => UserCodeLoader.Load(dir, NullLoggerFactory.Instance, PayloadCodecs.CreateDefault()), NullLogger.Instance, startup: null, startupPath: null);
        versions.Add(new Jex.Runtime.Deploy.CodeVersion("v1", "one", Samples, [], 1, 1, 0, removable: false));
        versions.Add(new Jex.Runtime.Deploy.CodeVersion("v2", "two", Samples, [], 1, 1, 0, removable: false));
        await versions.ActivateAsync("v1", CancellationToken.None).WaitAsync(Timeout);
        var v1 = versions.Current!;

        v1.Enter();
        await versions.ActivateAsync("v2", CancellationToken.None).WaitAsync(Timeout);
        Assert.True(v1.IsRetired);
        Assert.False(v1.IsUnloaded);
        Assert.Equal(Jex.Protocol.V1.CodeVersion.Types.State.Retiring, versions.List().Versions.Single(v => v.Version == "v1").State);
        Assert.Equal(1u, versions.List().Versions.Single(v => v.Version == "v1").BatchesInFlight);

        v1.Exit();
        Assert.True(v1.IsUnloaded);
        Assert.Null(v1.Catalog);
    }

    private static ByteString HazelcastString(string text)
    {
        // A Hazelcast Data holding a SomeThing would need the schema handshake; a JSON value is enough to bind the type.
        var data = Jex.Hazelcast.Serialization.HazelcastSerializer.Serialize(new Jex.Hazelcast.Values.HazelcastJsonValue($$"""{"value":{{text.Length}}}"""));
        return ByteString.CopyFrom(data);
    }

    // Not inlined: no local of the test's frame may hold a context.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> WeakContexts(CodeVersions versions) =>
        [.. versions.Current!.Catalog!.Contexts.Select(c => new WeakReference(c))];

    internal static async Task AssertCollectedAsync(List<WeakReference> contexts)
    {
        Assert.NotEmpty(contexts);
        var until = DateTime.UtcNow + CollectTimeout;
        while (contexts.Any(c => c.IsAlive))
        {
            if (DateTime.UtcNow > until)
            {

                Assert.Fail($"{contexts.Count(c => c.IsAlive)} load context(s) of the retired code are still alive after {CollectTimeout.TotalSeconds} s of collections");
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(20);
        }
    }

    /// <summary>One in-process session on a processor over <see cref="CodeVersions"/>.</summary>
    private sealed class DeploySession : IAsyncDisposable
    {
        private readonly Channel<MemberMessage> _in = Channel.CreateUnbounded<MemberMessage>();
        private readonly Channel<RuntimeMessage> _out = Channel.CreateUnbounded<RuntimeMessage>();
        private readonly SessionProcessor _processor;
        private readonly Task _session;

        public DeploySession(CodeVersions versions)
        {
            _processor = new SessionProcessor(versions, Options.Create(new UserCodeOptions { Token = "t" }), new RuntimeCounters(),
                NullLoggerFactory.Instance, new TestApplicationLifetime());
            _session = _processor.RunAsync(_in.Reader.ReadAllAsync().Select(MemberMessageBuffer.From), new Output(_out.Writer), CancellationToken.None);
        }

        public async Task<Ready> InitAsync(string function, Format format)
        {
            _in.Writer.TryWrite(new MemberMessage
            {
                Init = new Init { ProtocolVersion = ProtocolContract.Version, Token = "t", Function = function, KeyFormat = Format.Text, ValueFormat = format },
            });
            return (await _out.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).Ready;
        }

        public async Task<BatchResult> RunAsync(ulong id, ByteString value, Format format)
        {
            var batch = new Batch { Id = id };
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8("k"), Value = value, KeyFormat = Format.Text, ValueFormat = format });
            _in.Writer.TryWrite(new MemberMessage { Batch = batch });
            while (true)
            {
                var message = await _out.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
                if (message.Result is { } result)
                {
                    return result;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _in.Writer.TryComplete();
            await _session.WaitAsync(Timeout);
            _processor.Dispose();
        }
    }

    private sealed class Output(ChannelWriter<RuntimeMessage> writer) : ISessionOutput
    {
        public ValueTask WriteAsync(RuntimeMessageBuffer message, bool moreFollows, CancellationToken cancellationToken) =>
            writer.WriteAsync(message.ToMessage(), cancellationToken);
    }
}

/// <summary>
/// Unload tests run alone, after the parallel ones: another test's work in the same process (new
/// code being compiled, its own load contexts) must not decide how long retired code takes to go.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UnloadCollection
{
    public const string Name = "Code unloading";
}

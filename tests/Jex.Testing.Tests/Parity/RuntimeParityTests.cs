using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;
using Jex.Samples;
using Jex.Testing.Internal;
using Xunit.Abstractions;

namespace Jex.Testing.Tests.Parity;

/// <summary>
/// The same items through Jex.Testing and through a real jex-runtime process, for every function of
/// the sample libraries and every format: byte-identical outputs, identical item errors (code,
/// type, message and the stack's frames above the batch loop), the same Compact schemas sent and
/// the same forwarded logs. Both load the same built libraries, out/samples.
/// </summary>
public sealed partial class RuntimeParityTests(RuntimeFixture fixture, ITestOutputHelper output) : IClassFixture<RuntimeFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Formats = ["text", "json", "bytes", "hazelcast"];

    // Values per function, before encoding in the format under test.
    private static readonly Dictionary<string, string[]> TextValues = new(StringComparer.Ordinal)
    {
        ["identity"] = ["a", "", "héllo"],
        ["throwOnDemand"] = ["ok", "throw now"],
        ["filterEven"] = ["2", "3", "x"],
        ["explode"] = ["a,b,,c", ""],
        ["logAndEcho"] = ["one", "two"],
        ["sleepy"] = ["sleep:5", "now"],
        ["jitter"] = ["a", "b", "c"],
        ["countCalls"] = ["a"],
        ["burn1us"] = ["x"],
        ["async5ms"] = ["a", "héllo"],
        ["charsAsync"] = ["héllo"],
        ["byteCount"] = ["abc", "ü"],
        ["describe"] = ["v1", "v2"],
        ["upperEntry"] = ["abc", ""],
        ["newtonsoftTag"] = ["""{"a":1}""", "not json"],
        ["isolationReport"] = ["x"],
    };

    private static readonly Dictionary<string, Func<JexInput>[]> PocoValues = new(StringComparer.Ordinal)
    {
        ["doThingDotnet"] = [() => Poco(new SomeThing { Value = 20 }), () => Poco(new SomeThing { Value = int.MinValue }), () => Poco(new SomeThing { Value = -7 })],
        ["compactEcho"] = [() => Poco(new BenchRecord { Id = 1, Payload = [1, 2, 3] }), () => Poco(new BenchRecord { Id = -5, Payload = [] })],
        ["compactBurn1us"] = [() => Poco(new BenchRecord { Id = 2, Payload = [9] })],
    };

    // Marks a POCO value: JSON for the non-Hazelcast formats, Compact for Hazelcast (see Encode).
    private static JexInput Poco<T>(T value) where T : class => JexInput.Compact(value);

    private readonly string _counterFile = Path.Combine(Path.GetTempPath(), "jex-parity-counter-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => File.Delete(_counterFile);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var function in TextValues.Keys.Concat(PocoValues.Keys).Order(StringComparer.Ordinal))
        {
            foreach (var format in Formats)
            {
                data.Add(function, format);
            }
        }

        return data;
    }

    [Fact]
    public void Cases_CoverEveryFunctionTheRuntimeLoadedFromTheSamples()
    {
        // The ready line names every function the runtime loaded: JEX-READY {"functions":[...], ...}.
        var ready = fixture.Runtime.StdoutLines.First(l => l.StartsWith("JEX-READY ", StringComparison.Ordinal));
        using var json = System.Text.Json.JsonDocument.Parse(ready["JEX-READY ".Length..]);
        var loaded = json.RootElement.GetProperty("functions").EnumerateArray().Select(e => e.GetString()!);

        Assert.Equal(loaded.Order(StringComparer.Ordinal), TextValues.Keys.Concat(PocoValues.Keys).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task SameItems_ThroughTheKitAndARealRuntime_GiveIdenticalResults(string function, string format)
    {
        var inputs = InputsFor(function, format);
        var init = new Init
        {
            ProtocolVersion = 1,
            Token = RuntimeProcess.Token,
            JobId = "parity-job",
            JobName = "parity",
            StageName = "stage-p",
            Function = function,
            KeyFormat = (Format)inputs[0].KeyFormat,
            ValueFormat = (Format)inputs[0].ValueFormat,
            Settings = { ["counter-file"] = _counterFile },
        };
        var context = new TestJexContext
        {
            JobId = init.JobId,
            JobName = init.JobName,
            StageName = init.StageName,
            BatchId = 1,
            Partition = 7,
            Sequence = 100,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
            Settings = { ["counter-file"] = _counterFile },
        };

        var kit = await JexFunction.Load(Paths.Samples, function).InvokeManyAsync(inputs, context).WaitAsync(Timeout);

        var batch = new Batch { Id = 1 };
        for (var i = 0; i < inputs.Count; i++)
        {
            // Formats left to the session's defaults from Init, as a member usually sends them.
            batch.Items.Add(new Item
            {
                Key = ByteString.CopyFrom(inputs[i].Key!.Value.Span),
                Value = ByteString.CopyFrom(inputs[i].Value.Span),
                TimestampMs = 1_700_000_000_000,
                Partition = 7,
                Sequence = 100 + i,
            });
        }

        var schemas = RuntimeAdapter.ToSchemasMessage(inputs.SelectMany(i => i.Schemas));

        BatchResult result;
        List<RuntimeMessage> before;
        try
        {
            await using var session = await RuntimeSession.OpenAsync(fixture.Runtime.Address, init);
            (result, before) = await session.RunAsync(batch, schemas);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + fixture.Runtime.Log);
            throw;
        }

        Assert.Equal(inputs.Count, result.Results.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            AssertSame(result.Results[i], kit[i], $"{function}/{format} item {i}");
        }

        var sentSchemas = before.Where(m => m.Schemas is not null).SelectMany(m => m.Schemas.Schemas_).Select(s => s.Id).Order();
        Assert.Equal(sentSchemas, kit.Count > 0 ? kit[0].Schemas.Select(s => s.Id).Order() : []);

        var runtimeLogs = before.Where(m => m.Log is not null).Select(m => $"{m.Log.Level} {m.Log.Category}: {m.Log.Message}");
        var kitLogs = context.Logs.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Information)
            .Select(l => $"{l.Level} {l.Category}: {l.Message}");
        Assert.Equal(runtimeLogs, kitLogs);
    }

    private void AssertSame(ItemResult runtime, JexResult kit, string what)
    {
        if (runtime.OutcomeCase == ItemResult.OutcomeOneofCase.Error)
        {
            var kitError = kit.Error ?? throw new Xunit.Sdk.XunitException($"{what}: the runtime failed it ({runtime.Error.Code} {runtime.Error.Message}), the kit did not ({kit})");
            output.WriteLine($"{what}: error {runtime.Error.Code} {runtime.Error.Type}: {runtime.Error.Message}");
            output.WriteLine($"runtime stack:\n{runtime.Error.Stack}\nkit stack:\n{kitError.Stack}");
            Assert.Equal((int)runtime.Error.Code, (int)kitError.Code);
            Assert.Equal(runtime.Error.Type, kitError.Type);
            Assert.Equal(runtime.Error.Message, kitError.Message);
            Assert.Equal(UserFrames(runtime.Error.Stack), UserFrames(kitError.Stack));
            Assert.Equal(runtime.Error.Stack.Length == 0, kitError.Stack.Length == 0);
            return;
        }

        Assert.True(kit.Error is null, $"{what}: the kit failed it ({kit.Error}), the runtime did not\n{kit.Error?.Stack}");
        var outputs = runtime.Ok?.Outputs_ ?? [];
        Assert.Equal(outputs.Count, kit.Outputs.Count);
        for (var j = 0; j < outputs.Count; j++)
        {
            Assert.Equal(outputs[j].Key.ToByteArray(), kit.Outputs[j].Key);
            if (what.StartsWith("isolationReport/", StringComparison.Ordinal))
            {
                Assert.Equal(WithoutHostVersions(outputs[j].Value.ToStringUtf8()), WithoutHostVersions(kit.Outputs[j].Text));
            }
            else
            {
                Assert.Equal(outputs[j].Value.ToByteArray(), kit.Outputs[j].Value);
            }

            Assert.Equal((int)outputs[j].KeyFormat, (int)kit.Outputs[j].KeyFormat);
            Assert.Equal((int)outputs[j].ValueFormat, (int)kit.Outputs[j].ValueFormat);
        }
    }

    /// <summary>
    /// isolationReport prints the version of each assembly it sees. The logging abstractions are
    /// shared with the host: the runtime's come from the ASP.NET Core shared framework, the kit's
    /// from the test's package; the line still shows both are the host's (Default context).
    /// </summary>
    private static string WithoutHostVersions(string report) =>
        Regex.Replace(report, @"^(Microsoft\.Extensions\.Logging\.Abstractions) \S+ ", "$1 * ", RegexOptions.Multiline);

    /// <summary>
    /// The stack without the runtime's own frames (Jex.Runtime.*: its binders and invoker) and
    /// what calls them: the runtime's stack ends in its batch loop and the kit's in its adapter,
    /// and the runtime's frames are inlined differently in the published runtime (ReadyToRun, tiered)
    /// and in a test process. The user's frames and the framework's stay, with their line numbers;
    /// compiled lambdas are numbered in load order.
    /// </summary>
    internal static IReadOnlyList<string> UserFrames(string stack) =>
        [.. stack.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("at ", StringComparison.Ordinal))
            // The runtime's own frames and the framework's depend on how each process compiled them
            // (ReadyToRun, tiered JIT, inlining), not on what the user's code did.
            .Where(l => !l.StartsWith("at Jex.Runtime.", StringComparison.Ordinal) && !l.StartsWith("at Jex.Testing.Internal.", StringComparison.Ordinal)
                && !l.StartsWith("at System.", StringComparison.Ordinal) && !l.StartsWith("at Microsoft.", StringComparison.Ordinal))
            .Select(l => LambdaNumber().Replace(l, "lambda_method"))];

    [GeneratedRegex(@"lambda_method\d+")]
    private static partial Regex LambdaNumber();

    private static List<JexInput> InputsFor(string function, string format)
    {
        var inputs = new List<JexInput>();
        if (PocoValues.TryGetValue(function, out var pocos))
        {
            foreach (var make in pocos)
            {
                var compact = make();
                var value = format == "hazelcast"
                    ? compact
                    : Raw(Encoding.UTF8.GetBytes(JsonOf(function, compact)), format);
                inputs.Add(value.WithKey("key-" + inputs.Count));
            }

            // And one that does not bind: a decode error, whose message the runtime words.
            var bad = format == "hazelcast"
                ? JexInput.HazelcastData(RuntimeAdapter.EncodeHazelcastString("not a record"))
                : Raw(Encoding.UTF8.GetBytes("""{"value":"x","id":"x"}"""), format);
            inputs.Add(bad.WithKey("key-" + inputs.Count));
            return inputs;
        }

        foreach (var text in TextValues[function])
        {
            var value = format == "hazelcast"
                ? JexInput.HazelcastData(RuntimeAdapter.EncodeHazelcastString(text))
                : Raw(Encoding.UTF8.GetBytes(text), format);
            inputs.Add(value.WithKey("key-" + inputs.Count));
        }

        return inputs;
    }

    private static JexInput Raw(byte[] bytes, string format) => format switch
    {
        "text" => JexInput.Text(Encoding.UTF8.GetString(bytes)),
        "json" => JexInput.Json(Encoding.UTF8.GetString(bytes)),
        _ => JexInput.Bytes(bytes),
    };

    // The JSON twin of a Compact sample value, decoded back through the kit so both stay in step.
    private static string JsonOf(string function, JexInput compact) => function == "doThingDotnet"
        ? System.Text.Json.JsonSerializer.Serialize(RuntimeAdapter.DecodeCompact<SomeThing>(compact.Value.ToArray(), compact.Schemas), RuntimeAdapter.JsonOptions)
        : System.Text.Json.JsonSerializer.Serialize(RuntimeAdapter.DecodeCompact<BenchRecord>(compact.Value.ToArray(), compact.Schemas), RuntimeAdapter.JsonOptions);
}

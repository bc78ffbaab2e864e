using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Tests.Dispatch;
using Jex.Runtime.UserCode;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Tests.UserCode;

/// <summary>A class parameter whose properties match no field of the JSON input is a Warning, once per session.</summary>
public sealed class JsonFieldCheckTests
{
    public sealed class Reading
    {
        public string? Sensor { get; set; }

        public double Celsius { get; set; }
    }

    public static class Functions
    {
        public static string Describe(Reading r) => $"{r.Sensor}:{r.Celsius}";
    }

    private static MemberMessage Batch(ulong id, params string[] values)
    {
        var batch = new Batch { Id = id };
        foreach (var v in values)
        {
            batch.Items.Add(new Item { Value = ByteString.CopyFromUtf8(v) });
        }

        return new MemberMessage { Batch = batch };
    }

    private static async Task<List<string>> RunSessionAsync(params MemberMessage[] batches)
    {
        await using var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), nameof(Functions.Describe));
        await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.Describe), Format.Json));
        foreach (var batch in batches)
        {
            await harness.SendAsync(batch);
            Assert.NotNull((await harness.ReadAsync()).Result);
        }

        await harness.EndAsync();
        return [.. harness.Logs.Entries.Where(e => e.EventId.Id == 201).Select(e => e.Level == LogLevel.Warning ? e.Message : "not a warning: " + e.Message)];
    }

    [Fact]
    public async Task NoPropertyMatchingAnyField_LogsOneWarningPerSession_NamingFunctionTypeAndFields()
    {
        var warnings = await RunSessionAsync(
            Batch(1, "{\"sensor_id\":\"s1\",\"temp\":20.5}", "{\"sensor_id\":\"s2\",\"temp\":21}"),
            Batch(2, "{\"sensor_id\":\"s3\",\"temp\":22}"));

        var warning = Assert.Single(warnings);
        Assert.StartsWith(
            "Session 1: function Describe takes a Reading, but none of its properties (sensor, celsius) matches a field of the JSON input (fields seen: sensor_id, temp)",
            warning,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondSession_WarnsAgain()
    {
        Assert.Single(await RunSessionAsync(Batch(1, "{\"temp\":20.5}")));
        Assert.Single(await RunSessionAsync(Batch(1, "{\"temp\":20.5}")));
    }

    [Fact]
    public async Task FieldsThatMatch_InAnyCase_LogNothing()
    {
        Assert.Empty(await RunSessionAsync(Batch(1, "{\"SENSOR\":\"s1\",\"extra\":1}", "{\"celsius\":3}")));
    }

    [Fact]
    public async Task AnEmptyObjectOrAnotherJsonKind_LogsNothing()
    {
        Assert.Empty(await RunSessionAsync(Batch(1, "{}", "null")));
    }
}

using Jex.Cli.Run;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

/// <summary>The transform's scheduling keys: ordering and max-concurrency.</summary>
public sealed class JobFileOrderingKeysTests
{
    private const string File = "/jobs/ordered.yml";

    private static string Job(string transformKeys) => $"""
        job:
          name: o
          pipeline:
            - source: map-journal
              map-name: in
            - transform: user-code
              function: doThingDotnet
              runtime:
                user-code: code
        {transformKeys}
            - sink: map
              map-name: out
        """;

    private static TransformStage Parse(string transformKeys) =>
        new JobFileParser(File, new Dictionary<string, string>(), uid: "u", platform: "linux-x64").Parse(Job(transformKeys)).Transform;

    private static JobFileException ParseFails(string transformKeys) => Assert.Throws<JobFileException>(() => Parse(transformKeys));

    [Fact]
    public void Parse_WithoutOrdering_IsBatchOrderWithTheRuntimesConcurrency()
    {
        var transform = Parse("      name: t");

        Assert.Equal(Ordering.Batch, transform.Ordering);
        Assert.Equal(0, transform.MaxConcurrency);
    }

    [Fact]
    public void Parse_KeyOrderingWithMaxConcurrency_ReadsBoth()
    {
        var transform = Parse("      ordering: key\n      max-concurrency: 64");

        Assert.Equal(Ordering.Key, transform.Ordering);
        Assert.Equal(64, transform.MaxConcurrency);
    }

    [Fact]
    public void Parse_KeyOrderingAlone_LeavesConcurrencyToTheRuntime()
    {
        var transform = Parse("      ordering: key");

        Assert.Equal(Ordering.Key, transform.Ordering);
        Assert.Equal(0, transform.MaxConcurrency);
    }

    [Fact]
    public void Parse_AnUnknownOrdering_NamesTheFileLineKeyAndTheChoices()
    {
        var ex = ParseFails("      ordering: partition");

        Assert.Equal("/jobs/ordered.yml:10: job.pipeline[1].ordering: unsupported ordering 'partition' (supported: batch, key)", ex.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4097")]
    [InlineData("lots")]
    public void Parse_AMaxConcurrencyOutOfRange_NamesTheKeyAndTheRange(string value)
    {
        var ex = ParseFails($"      ordering: key\n      max-concurrency: {value}");

        Assert.Equal($"/jobs/ordered.yml:11: job.pipeline[1].max-concurrency: expected a whole number from 1 to 4096, got '{value}'", ex.Message);
    }

    [Fact]
    public void Parse_MaxConcurrencyWithBatchOrdering_IsAnErrorSayingWhatToDo()
    {
        var ex = ParseFails("      max-concurrency: 8");

        Assert.Contains("/jobs/ordered.yml:10: job.pipeline[1].max-concurrency: max-concurrency applies only to 'ordering: key'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("add 'ordering: key' or remove max-concurrency", ex.Message, StringComparison.Ordinal);
    }
}

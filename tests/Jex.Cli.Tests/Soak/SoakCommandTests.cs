using Jex.Cli.Soak;
using Jex.Testing.Shared;

namespace Jex.Cli.Tests.Soak;

/// <summary>The command line of <c>jex soak</c>: durations, transports, and what it refuses.</summary>
public sealed class SoakCommandTests
{
    private static readonly string Exe = typeof(SoakCommandTests).Assembly.Location;

    private static SoakSettings Parse(string? paths = null, int? seconds = null, int? minutes = null, int? payload = null, double? reference = null) =>
        SoakCommand.Parse(Exe, TestPaths.Samples, paths, seconds, minutes, warmup: null, payload, batch: null, inFlight: null, reference, tolerance: null);

    [Fact]
    public void Parse_Defaults_AreSixtySecondsOnEveryTransportAt256x64InFour()
    {
        var s = Parse();

        Assert.Equal(["grpc-tcp", "grpc-uds", "shm"], s.Paths);
        Assert.Equal(TimeSpan.FromSeconds(60), s.Duration);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Warmup);
        Assert.Equal((64, 256, 4), (s.Payload, s.Batch, s.InFlight));
        Assert.Equal(10, s.EffectiveReferenceSeconds);
        Assert.Equal(10, s.TolerancePercent);
    }

    [Fact]
    public void Parse_Minutes_SetsTheDurationAndKeepsTheTenSecondReference()
    {
        var s = Parse(paths: "shm,grpc-uds", minutes: 10);

        Assert.Equal(TimeSpan.FromMinutes(10), s.Duration);
        Assert.Equal(["shm", "grpc-uds"], s.Paths);
        Assert.Equal(10, s.EffectiveReferenceSeconds);
    }

    [Fact]
    public void Parse_AShortRun_MovesTheReferenceToAThirdOfIt() =>
        Assert.Equal(5, Parse(seconds: 15).EffectiveReferenceSeconds);

    [Theory]
    [InlineData("direct", null, null, null, "--paths: 'direct' is not one of grpc-tcp, grpc-uds, shm")]
    [InlineData(null, 10, 1, null, "give --seconds or --minutes, not both")]
    [InlineData(null, 2, null, null, "--seconds: at least 3, so there is an RSS sample after the reference one")]
    [InlineData(null, 0, null, null, "--seconds: 0 is not a positive integer")]
    [InlineData(null, null, null, 8, "--payload: 8 is below 12 (each value carries its batch id and index)")]
    public void Parse_BadArguments_AreRefusedNamingTheOption(string? paths, int? seconds, int? minutes, int? payload, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(paths, seconds, minutes, payload));

        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Parse_ARuntimeThatDoesNotExist_IsRefusedNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SoakCommand.Parse("/nonexistent/jex-runtime", TestPaths.Samples, null, null, null, null, null, null, null, null, null));

        Assert.Equal("--runtime '/nonexistent/jex-runtime' does not exist (run ./demo.sh build)", e.Message);
    }
}

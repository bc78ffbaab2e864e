using System.Text.RegularExpressions;
using Jex.FunctionalTests.Infrastructure;
using Jex.FunctionalTests.SharedMemory;

namespace Jex.FunctionalTests.Runtime;

/// <summary>The built jex-runtime's own switches and its answer to settings it cannot use.</summary>
public sealed class CommandLineTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public async Task Help_PrintsEveryKeyWithItsDefaultTheReadyLineAndTheExitCodes_AndExitsZero(string argument)
    {
        // No user code and no settings: help must not need them.
        await using var runtime = RuntimeProcess.Start([argument], includeDefaults: false);
        Assert.Equal(0, await runtime.WaitForExitAsync(ExitTimeout));

        var help = string.Join('\n', runtime.StdoutLines);
        Assert.StartsWith("Usage: jex-runtime [--UserCode:Key=value ...]", help, StringComparison.Ordinal);
        Assert.Contains("UserCode__Key=value", help, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"\n  UserCode:Transport +grpc +grpc or shared-memory\n"), help);
        Assert.Matches(new Regex(@"\n  UserCode:DrainTimeoutSeconds +30 "), help);
        Assert.Matches(new Regex(@"\n  UserCode:LogLevel +Information +Verbose, Debug"), help);
        Assert.Contains("\n  UserCode:SharedMemory:RingBytes ", help, StringComparison.Ordinal);
        Assert.Contains("JEX-READY {", help, StringComparison.Ordinal);
        Assert.Contains("\n  2  configuration error", help, StringComparison.Ordinal);
        Assert.Contains("\n  3  the user code failed to load", help, StringComparison.Ordinal);
        Assert.Empty(runtime.StderrLines);
    }

    [Fact]
    public async Task Version_PrintsTheVersionAndProtocol_AndExitsZero()
    {
        await using var runtime = RuntimeProcess.Start(["--version"], includeDefaults: false);
        Assert.Equal(0, await runtime.WaitForExitAsync(ExitTimeout));

        var line = Assert.Single(runtime.StdoutLines);
        Assert.Matches(new Regex(@"^jex-runtime \d+\.\d+\.\d+ \(protocol 1\)$"), line);
        Assert.Empty(runtime.StderrLines);
    }

    [Fact]
    public async Task Version_MatchesTheVersionTheReadyLineAnnounces()
    {
        await using var version = RuntimeProcess.Start(["--version"], includeDefaults: false);
        Assert.Equal(0, await version.WaitForExitAsync(ExitTimeout));
        await using var runtime = await RuntimeProcess.StartAsync();

        Assert.Equal($"jex-runtime {runtime.ReadyInfo.Version} (protocol 1)", Assert.Single(version.StdoutLines));
    }

    [Fact]
    public async Task SeveralBadSettings_AreOneLineEach_AndExitTwo()
    {
        await using var runtime = RuntimeProcess.Start(
            ["--UserCode:Transport=carrier-pigeon", "--UserCode:LogFormat=xml", "--UserCode:MaxInFlight=lots", "--UserCode:DrainTimeoutSeconds=-1", "--UserCode:LogLevel=loud"]);
        Assert.Equal(2, await runtime.WaitForExitAsync(ExitTimeout));

        Assert.Equal(
            [
                "jex-runtime: configuration error: UserCode:DrainTimeoutSeconds -1 is out of range 0..3600: the seconds a stop waits for open sessions to drain",
                "jex-runtime: configuration error: UserCode:LogFormat 'xml' is not one of auto, text, json",
                "jex-runtime: configuration error: UserCode:LogLevel 'loud' is not one of Verbose, Debug, Information, Warning, Error, Fatal",
                "jex-runtime: configuration error: UserCode:MaxInFlight 'lots' is not a whole number",
                "jex-runtime: configuration error: UserCode:Transport 'carrier-pigeon' is not supported; use one of: grpc, shared-memory",
            ],
            runtime.StderrLines.Order(StringComparer.Ordinal));
        Assert.Empty(runtime.StdoutLines);
    }

    [Fact]
    public async Task SharedMemory_SpelledInAnyCase_Starts()
    {
        var uid = ShmLeftovers.NewUid();
        await using var runtime = await ShmLeftovers.RemoveFilesWhenDead(RuntimeProcess.StartAsync(["--UserCode:Transport=Shared-Memory", $"--UserCode:Uid={uid}"]));
        Assert.Equal("shared-memory", runtime.ReadyInfo.Transport);
        Assert.EndsWith("/jex-" + uid, runtime.Address, StringComparison.Ordinal);
    }
}

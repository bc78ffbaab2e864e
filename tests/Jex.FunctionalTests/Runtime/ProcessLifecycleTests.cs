using System.Diagnostics;
using Jex.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>How the jex-runtime process starts, fails to start, and stops.</summary>
public sealed class ProcessLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ParentPid_WhenTheParentIsKilled_RuntimeExitsWithinAFewSeconds()
    {
        using var parent = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        await using var runtime = await RuntimeProcess.StartAsync([$"--UserCode:ParentPid={parent.Id}"]);
        Assert.False(runtime.HasExited);

        parent.Kill();
        await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();
        await runtime.WaitForExitAsync(TimeSpan.FromSeconds(30));
        watch.Stop();

        // The runtime polls its parent every second (README: "within 1 s"); on a loaded machine
        // the poll's wake-up, the exit and reading its output can each be late by seconds, so the
        // test allows 15 s: a runtime that missed the parent's death never exits.
        output.WriteLine($"runtime exited {watch.ElapsedMilliseconds} ms after its parent");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"runtime took {watch.ElapsedMilliseconds} ms to notice its parent died\n{runtime.Log}");
        Assert.Contains(runtime.StderrLines, l => l.Contains($"Parent process {parent.Id} is gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingUserCodePath_ExitsNonZeroWithOneLineNamingTheFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), "jex-no-such-" + Guid.NewGuid().ToString("N"), "user.dll");
        await using var runtime = RuntimeProcess.Start([$"--UserCode:Path={missing}"], includeDefaults: false);
        var code = await runtime.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(2, code);
        var line = Assert.Single(runtime.StderrLines);
        Assert.Equal($"jex-runtime: configuration error: UserCode:Path '{missing}' does not exist", line);
        Assert.Empty(runtime.StdoutLines);
    }

    [Fact]
    public async Task NoUserCodePath_ExitsNonZeroNamingTheKey()
    {
        await using var runtime = RuntimeProcess.Start([], includeDefaults: false);
        Assert.Equal(2, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("UserCode:Path is required", Assert.Single(runtime.StderrLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--UserCode:Transport=carrier-pigeon", "UserCode:Transport 'carrier-pigeon' is not supported")]
    [InlineData("--UserCode:Grpc:Port=70000", "UserCode:Grpc:Port 70000 is out of range")]
    [InlineData("--UserCode:MaxInFlight=0", "UserCode:MaxInFlight 0 is out of range")]
    public async Task BadSetting_ExitsNonZeroNamingTheKey(string argument, string expected)
    {
        await using var runtime = RuntimeProcess.Start([argument]);
        Assert.Equal(2, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(expected, Assert.Single(runtime.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserCodePath_ThatIsNotAnAssembly_ExitsWithCodeThreeNamingTheFile()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var bogus = Path.Combine(dir, "broken.dll");
            await File.WriteAllTextAsync(bogus, "this is not a PE file");
            await using var runtime = RuntimeProcess.Start([$"--UserCode:Path={bogus}"], includeDefaults: false);
            Assert.Equal(3, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Contains(runtime.StderrLines, l => l.StartsWith($"jex-runtime: failed to load user assembly '{bogus}'", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task JexStyleArguments_LowerCaseKeys_AreAccepted()
    {
        // JEX passes --usercode:grpc:port=N; keys are case-insensitive.
        await using var runtime = await RuntimeProcess.StartAsync(["--usercode:grpc:port=0", "--usercode:uid=abc"]);
        Assert.StartsWith("http://127.0.0.1:", runtime.Address, StringComparison.Ordinal);
        Assert.Equal("grpc", runtime.ReadyInfo.Transport);
        Assert.Equal(runtime.Pid, runtime.ReadyInfo.Pid);
        Assert.Contains("doThingDotnet", runtime.ReadyInfo.Functions);
        Assert.Single(runtime.StdoutLines);
    }
}

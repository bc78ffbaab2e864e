using Jex.Member.Launch;

namespace Jex.Member.Tests.Launch;

public sealed class ReadyLineTests
{
    [Fact]
    public void TryParse_WhenLineIsTheReadyLine_ReadsEveryField()
    {
        var ok = ReadyLine.TryParse(
            """JEX-READY {"transport":"grpc","address":"http://127.0.0.1:40001","pid":123,"version":"0.1.0","functions":["doThingDotnet","identity"]}""",
            out var info);

        Assert.True(ok);
        Assert.Equal(new RuntimeReadyInfo("grpc", "http://127.0.0.1:40001", 123, "0.1.0", info!.Functions), info);
        Assert.Equal(["doThingDotnet", "identity"], info.Functions);
    }

    [Fact]
    public void TryParse_WhenLineIsALogLine_IsFalse() =>
        Assert.False(ReadyLine.TryParse("[14:00:00 INF] JEX-READY soon", out _));

    [Fact]
    public void TryParse_WhenJsonIsBroken_ThrowsNamingTheLine()
    {
        var ex = Assert.Throws<RuntimeStartException>(() => ReadyLine.TryParse("JEX-READY {\"transport\":\"grpc\"}", out _));

        Assert.Contains("missing \"address\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("JEX-READY {\"transport\":\"grpc\"}", ex.Message, StringComparison.Ordinal);
    }
}

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProcessLauncherTests
{
    [Fact]
    public void BuildArguments_PassesParentPidTransportPathUidPortThenTheJobsArguments()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("secret", "shared-memory", "/code", Uid: "u1", ExtraArguments: ["--x=1"]));

        Assert.Equal(
            [$"--UserCode:ParentPid={Environment.ProcessId}", "--UserCode:Transport=shared-memory", "--UserCode:Path=/code", "--UserCode:Uid=u1", "--UserCode:Grpc:Port=0", "--x=1"],
            args);
        Assert.DoesNotContain(args, a => a.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArguments_WhenASocketIsGiven_UsesItInsteadOfAPort()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("t", "grpc", "/code", GrpcSocket: "/tmp/s.sock"));

        Assert.Contains("--UserCode:Grpc:Socket=/tmp/s.sock", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--UserCode:Grpc:Port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_WhenTheProcessExitsBeforeReady_ThrowsWithItsLastOutput()
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho \"starting with token=$UserCode__Token\"\necho 'config error: UserCode:Path /nope not found' >&2\nexit 3\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("tok42", "grpc", "/nope"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.Contains("exited with code 3 before it was ready", ex.Message, StringComparison.Ordinal);
            Assert.Contains("config error: UserCode:Path /nope not found", ex.Message, StringComparison.Ordinal);
            Assert.Contains("token=tok42", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task StartAsync_WhenNoReadyLineComes_TimesOutAndKillsTheProcess()
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        var pidFile = script + ".pid";
        await File.WriteAllTextAsync(script, $"#!/bin/sh\necho $$ > {pidFile}\necho still thinking\nexec sleep 60\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("t", "grpc", "/x", ReadyTimeout: TimeSpan.FromMilliseconds(800)), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.Contains("printed no ready line within 0.8 s", ex.Message, StringComparison.Ordinal);
            Assert.Contains("still thinking", ex.Message, StringComparison.Ordinal);
            var pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal), "the timed-out runtime is still running");
        }
        finally
        {
            File.Delete(script);
            File.Delete(pidFile);
        }
    }
}

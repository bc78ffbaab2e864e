using Jex.Member.Launch;
using Jex.Protocol.Contract;

namespace Jex.Member.Tests.Launch;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProcessLauncherTests
{
    [Fact]
    public void BuildArguments_PassesParentPidTransportPathUidPortThenTheJobsArguments()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("secret", TransportKind.SharedMemory, "/code", Uid: "u1", ExtraArguments: ["--x=1"]));

        Assert.Equal(
            [$"--UserCode:ParentPid={Environment.ProcessId}", "--UserCode:Transport=shared-memory", "--UserCode:LogFormat=text", "--UserCode:Path=/code", "--UserCode:Uid=u1", "--UserCode:Grpc:Port=0", "--x=1"],
            args);
        Assert.DoesNotContain(args, a => a.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArguments_WhenDeployIsAsked_TurnsItOnWithTheCodeDirBeforeTheJobsArguments()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/code", ExtraArguments: ["--x=1"], Deploy: new DeployLaunchOptions("/var/jex/code")));

        Assert.Equal(["--UserCode:Deploy:Enabled=true", "--UserCode:CodeDir=/var/jex/code", "--x=1"], args.TakeLast(3));
    }

    [Fact]
    public void BuildArguments_WithoutDeploy_SaysNothingAboutIt()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/code"));

        Assert.DoesNotContain(args, a => a.Contains("Deploy", StringComparison.Ordinal) || a.Contains("CodeDir", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArguments_WhenASocketIsGiven_UsesItInsteadOfAPort()
    {
        var args = ProcessLauncher.BuildArguments(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/code", GrpcSocket: "/tmp/s.sock"));

        Assert.Contains("--UserCode:Grpc:Socket=/tmp/s.sock", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--UserCode:Grpc:Port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_WhenTheProcessExitsBeforeReady_ThrowsWithItsLastOutput()
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho starting\necho \"config error: UserCode:Path /nope not found (token=$UserCode__Token)\" >&2\nexit 1\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("tok42", TransportKind.Grpc, "/nope"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.Contains("exited with code 1 before it was ready", ex.Message, StringComparison.Ordinal);
            Assert.False(ex.IsFinal);
            Assert.Contains("config error: UserCode:Path /nope not found", ex.Message, StringComparison.Ordinal);
            Assert.Contains("token=tok42", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Theory]
    [InlineData(2, "configuration error")]
    [InlineData(3, "user code did not load")]
    public async Task StartAsync_WhenTheRuntimeExitsTwoOrThree_IsFinalAndQuotesItsOwnLine(int code, string kind)
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\necho '[12:00:00 INF] starting' >&2\necho \"jex-runtime: configuration error: UserCode:MaxInFlight 0 is out of range 1..1024\" >&2\necho 'a later failing line' >&2\nexit {code}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/nope"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.True(ex.IsFinal);
            Assert.Equal(code, ex.ExitCode);
            Assert.Contains($"refused to start ({kind}, exit code {code}; not restarting): jex-runtime: configuration error: UserCode:MaxInFlight 0 is out of range 1..1024", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("a later failing line", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task StartAsync_WhenTheExecutableDoesNotExist_IsFinalNamingItAndWhatToDo()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"jex-no-runtime-{Guid.NewGuid():N}", "jex-runtime");

        var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
            new ProcessLauncher(missing).StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/code"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.True(ex.IsFinal);
        Assert.Equal($"runtime executable not found: {missing} (run ./demo.sh build, or fix the job's runtime.service executable)", ex.Message);
    }

    [Fact]
    public async Task StartAsync_WhenTheExecutableCannotBeRun_IsFinalNamingIt()
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/code"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.True(ex.IsFinal);
            Assert.StartsWith($"cannot start {script}: ", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task StartAsync_WhenTheReadyLineIsMalformed_ThrowsNamingTheFieldAndTheLine()
    {
        var script = Path.Combine(Path.GetTempPath(), $"jex-fake-runtime-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho 'JEX-READY {\"transport\":\"grpc\"}'\nexec sleep 60\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var ex = await Assert.ThrowsAsync<RuntimeStartException>(() =>
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/nope"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

            Assert.Contains("the runtime's ready line is malformed (missing \"address\"): JEX-READY {\"transport\":\"grpc\"}", ex.Message, StringComparison.Ordinal);
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
                new ProcessLauncher(script).StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "/x", ReadyTimeout: TimeSpan.FromSeconds(5)), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

            // 5 s, not less: the script's own start and first line must come in before the timeout, even on a busy machine.
            Assert.Contains("printed no ready line within 5 s", ex.Message, StringComparison.Ordinal);
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

public sealed class OutputTailTests
{
    [Fact]
    public void Summary_PrefersTheLastErrorLinesOverLaterNoise()
    {
        var tail = new OutputTail(capacity: 4);
        foreach (var line in new[] { "old 1", "[10:00:00 ERR] Jex.Runtime: cannot bind port", "[10:00:01 INF] shutting down", "[10:00:01 INF] bye" })
        {
            tail.Add(line);
        }

        Assert.Equal("[10:00:00 ERR] Jex.Runtime: cannot bind port", tail.Summary());
        tail.Add("x");
        tail.Add("y");
        Assert.Equal(["[10:00:01 INF] shutting down", "[10:00:01 INF] bye", "x", "y"], tail.Snapshot());
        Assert.Equal("[10:00:01 INF] bye | x | y", tail.Summary());
    }
}

public sealed class PassthruLauncherTests
{
    [Fact]
    public async Task StartAsync_WhenNothingListensAtTheAddress_FailsAsUnreachableAtOnceNamingTheAddressAndHowToStartARuntime()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var launcher = new PassthruLauncher($"http://127.0.0.1:{port}", TransportKind.Grpc);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<RuntimeStartException>(() => launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        // The driver decides whether to retry (after the job's first session) or end the job (before it).
        // Well under the 30 s a launcher that waited for a runtime to appear would take; a refused
        // connection itself takes milliseconds, the rest is a busy machine's JIT.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
        Assert.True(ex.IsUnreachable);
        Assert.False(ex.IsFinal);
        Assert.Contains($"no runtime at http://127.0.0.1:{port}: connection refused", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"jex-runtime --UserCode:Grpc:Port={port}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_WhenSomethingListens_ReturnsAnInstanceWithTheAddress()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var launcher = new PassthruLauncher($"http://127.0.0.1:{port}");

        await using var instance = await launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal($"http://127.0.0.1:{port}", instance.Ready.Address);
    }

    [Fact]
    public async Task StartAsync_WhenTheSharedMemoryFileIsMissing_FailsAsUnreachableNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), "jex-no-such-" + Guid.NewGuid().ToString("N"));
        var launcher = new PassthruLauncher(path, TransportKind.SharedMemory);

        var ex = await Assert.ThrowsAsync<RuntimeStartException>(() => launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.SharedMemory, ""), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.True(ex.IsUnreachable);
        Assert.Contains($"no runtime at {path}: the shared-memory file does not exist", ex.Message, StringComparison.Ordinal);
    }
}

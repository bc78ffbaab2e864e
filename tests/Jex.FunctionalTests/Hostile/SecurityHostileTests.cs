using System.Net.Sockets;
using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Member.Transports;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Hostile;

/// <summary>
/// Issue #11 rows 8 and 11: who reaches a runtime without a token, and what the runtime does
/// with a file it did not create at its socket path. Each test runs a real runtime process.
/// </summary>
public sealed class SecurityHostileTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    // ---- row 8: no token, reachable beyond loopback ----------------------------------------------

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.10")]
    public async Task NoToken_NonLoopbackBind_ExitsTwoWithOneLineNamingTheKeys(string address)
    {
        // Refused before binding: no traffic reaches the address.
        await using var runtime = RuntimeProcess.Start([$"--UserCode:Grpc:Address={address}"], token: "");
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));

        var line = Assert.Single(runtime.StderrLines);
        output.WriteLine(line);
        Assert.StartsWith("jex-runtime: configuration error: ", line, StringComparison.Ordinal);
        Assert.Contains($"UserCode:Grpc:Address '{address}' is not a loopback address and no token is configured", line, StringComparison.Ordinal);
        Assert.Contains("UserCode:Token", line, StringComparison.Ordinal);
        Assert.Contains("UserCode:TokenFile", line, StringComparison.Ordinal);
        Assert.Contains("UserCode:AllowAnonymous=true", line, StringComparison.Ordinal);
        Assert.Empty(runtime.StdoutLines);
    }

    [Fact]
    public async Task NoToken_TokenFileSet_NonLoopbackBind_IsNotRefusedForWantOfAToken()
    {
        // UserCode:TokenFile counts as a token for this rule (reading it is another setting's job).
        var dir = Paths.NewTempDirectory();
        try
        {
            var tokenFile = Path.Combine(dir, "token");
            File.WriteAllText(tokenFile, RuntimeProcess.Token);
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead);
            await using var runtime = RuntimeProcess.Start(["--UserCode:Grpc:Address=0.0.0.0", $"--UserCode:TokenFile={tokenFile}"], token: "");
            var ready = runtime.WaitReadyAsync(StartTimeout);
            var exited = runtime.WaitForExitAsync(StartTimeout);
            await Task.WhenAny(ready, exited).WaitAsync(StartTimeout);
            Assert.DoesNotContain(runtime.StderrLines, l => l.Contains("is not a loopback address and no token is configured", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("localhost")]
    public async Task NoToken_LoopbackBind_StartsAndServesWithTheNoTokenWarning(string address)
    {
        await using var runtime = await RuntimeProcess.StartAsync([$"--UserCode:Grpc:Address={address}"], token: "");
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await session.OpenAsync(TestSession.InitFor("identity", token: ""));
        Assert.Single((await session.RunAsync([TestSession.MakeBatch(1, ["a"])], 1))[1].Results);
        await session.DrainAsync();

        Assert.Contains(runtime.StderrLines, l => l.Contains("UserCode:Token is not set: every session is accepted without authentication", StringComparison.Ordinal));
        Assert.DoesNotContain(runtime.StderrLines, l => l.Contains("AllowAnonymous", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoToken_UnixSocket_StartsAndServes()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            await using var runtime = await RuntimeProcess.StartAsync([$"--UserCode:Grpc:Socket={Path.Combine(dir, "jex.sock")}"], token: "");
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await session.OpenAsync(TestSession.InitFor("identity", token: ""));
            var result = (await session.RunAsync([TestSession.MakeBatch(1, ["a", "b"])], 1))[1];
            Assert.Equal(2, result.Results.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task NoToken_AllowAnonymous_AllInterfaces_StartsWithAWarningAndServesWithoutToken()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Address=0.0.0.0", "--UserCode:AllowAnonymous=true"], token: "");
        Assert.Contains(runtime.StderrLines, l => l.Contains("WRN", StringComparison.Ordinal)
            && l.Contains("UserCode:AllowAnonymous is set and no token is configured: any host that reaches 0.0.0.0 can run sessions", StringComparison.Ordinal));

        // Reached over loopback only: the test sends nothing to another host.
        var port = new Uri(runtime.Address).Port;
        await using var session = new TestSession(GrpcTestChannel.Open($"http://127.0.0.1:{port}"));
        await session.OpenAsync(TestSession.InitFor("identity", token: ""));
        var result = (await session.RunAsync([TestSession.MakeBatch(1, ["x"])], 1))[1];
        Assert.Equal("x", TestSession.Text(Assert.Single(Assert.Single(result.Results).Ok.Outputs_).Value));
    }

    /// <summary>
    /// The image's setup: all interfaces, with a token. Sessions with no token or a wrong one are
    /// refused with PERMISSION_DENIED and a log line, a member with the token is served meanwhile,
    /// and 200 refused sessions cost the runtime less than 64 MiB of RSS.
    /// </summary>
    [Fact]
    public async Task Token_AllInterfaces_RefusesSessionsWithoutTheToken_KeepsServing_WithinTheMemoryBound()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Address=0.0.0.0"]);
        var address = $"http://127.0.0.1:{new Uri(runtime.Address).Port}";

        await using var good = new TestSession(GrpcTestChannel.Open(address));
        await good.OpenAsync(TestSession.InitFor("identity"));
        _ = await good.RunAsync([TestSession.MakeBatch(1, ["warm"])], 1);
        var baseline = ProcessStatus.RssBytes(runtime.Pid);

        const int Attackers = 200;
        for (var wave = 0; wave < Attackers / 20; wave++)
        {
            var refused = Enumerable.Range(0, 20).Select(async i =>
            {
                await using var bad = new TestSession(GrpcTestChannel.Open(address));
                var init = TestSession.InitFor("identity", token: i % 2 == 0 ? "" : "not-the-token");
                var e = await Assert.ThrowsAsync<SessionEndedException>(() => bad.OpenAsync(init));
                Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
            });
            await Task.WhenAll(refused).WaitAsync(TestSession.Timeout);

            // The member with the token is served between the waves.
            var id = (ulong)(wave + 2);
            var result = (await good.RunAsync([TestSession.MakeBatch(id, [$"wave-{wave}"])], 1))[id];
            Assert.Equal($"wave-{wave}", TestSession.Text(Assert.Single(Assert.Single(result.Results).Ok.Outputs_).Value));
        }

        var rss = ProcessStatus.RssBytes(runtime.Pid);
        output.WriteLine($"RSS {baseline / MiB} MiB before, {rss / MiB} MiB after {Attackers} refused sessions");
        Assert.True(rss - baseline < 64 * MiB, $"RSS grew {(rss - baseline) / MiB} MiB over {Attackers} refused sessions");
        Assert.Contains(runtime.StderrLines, l => l.Contains("refused: PermissionDenied: Init carries no token", StringComparison.Ordinal));
        Assert.Contains(runtime.StderrLines, l => l.Contains("refused: PermissionDenied: Init carries a wrong token", StringComparison.Ordinal));
        await good.DrainAsync();
    }

    // ---- row 11: what is at the socket path ------------------------------------------------------

    [Fact]
    public async Task SocketPath_IsARegularFile_ExitsTwo_TheFileAndItsContentStay()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var path = Path.Combine(dir, "important.db");
            File.WriteAllText(path, "precious data");
            await AssertSocketPathRefusedAsync(path, "regular file");
            Assert.Equal("precious data", File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SocketPath_IsADirectory_ExitsTwo_TheDirectoryStays()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var path = Path.Combine(dir, "sub");
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "inside"), "x");
            await AssertSocketPathRefusedAsync(path, "directory");
            Assert.True(File.Exists(Path.Combine(path, "inside")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SocketPath_IsASymbolicLink_ExitsTwo_TheLinkAndItsTargetStay()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var target = Path.Combine(dir, "target");
            File.WriteAllText(target, "target data");
            var link = Path.Combine(dir, "jex.sock");
            File.CreateSymbolicLink(link, target);
            await AssertSocketPathRefusedAsync(link, "symbolic link");
            Assert.Equal(target, new FileInfo(link).LinkTarget);
            Assert.Equal("target data", File.ReadAllText(target));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SocketPath_IsAStaleSocket_IsReplacedAndServed()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var path = Path.Combine(dir, "jex.sock");
            await using (var killed = await RuntimeProcess.StartAsync([$"--UserCode:Grpc:Socket={path}"]))
            {
                // SIGKILL: no cleanup, the socket file stays behind, and nobody listens on it.
                killed.Signal(9);
                Assert.NotEqual(0, await killed.WaitForExitAsync(StartTimeout));
            }

            Assert.True(File.Exists(path), "a SIGKILLed runtime leaves its socket file");
            await using var runtime = await RuntimeProcess.StartAsync([$"--UserCode:Grpc:Socket={path}"]);
            Assert.Equal("unix:" + path, runtime.Address);
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await session.OpenAsync(TestSession.InitFor("identity"));
            Assert.Single((await session.RunAsync([TestSession.MakeBatch(1, ["s"])], 1))[1].Results);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SocketPath_IsALiveSocket_ExitsTwo_TheListenerKeepsIt()
    {
        var dir = Paths.NewTempDirectory();
        try
        {
            var path = Path.Combine(dir, "jex.sock");
            using var live = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            live.Bind(new UnixDomainSocketEndPoint(path));
            live.Listen();
            await AssertSocketPathRefusedAsync(path, null, "is in use: another process accepts connections on it");
            Assert.True(File.Exists(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task AssertSocketPathRefusedAsync(string path, string? kind, string? text = null)
    {
        await using var runtime = RuntimeProcess.Start([$"--UserCode:Grpc:Socket={path}"]);
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));
        var line = Assert.Single(runtime.StderrLines);
        output.WriteLine(line);
        Assert.StartsWith($"jex-runtime: configuration error: UserCode:Grpc:Socket '{path}' ", line, StringComparison.Ordinal);
        Assert.Contains(text ?? $"already exists and is a {kind}, not a socket", line, StringComparison.Ordinal);
        Assert.Empty(runtime.StdoutLines);
    }
}

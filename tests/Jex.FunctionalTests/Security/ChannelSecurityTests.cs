using System.Diagnostics;
using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Member.Transports;
using Jex.Member.Transports.Grpc;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Security;

/// <summary>
/// TLS and mutual TLS on the gRPC listener, with certificates made in the test: the member's
/// .NET connector and Debian's Python grpcio run sessions over it; clients that do not present
/// what the runtime asks for are refused during the handshake, before any message is read.
/// </summary>
public sealed class ChannelSecurityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Tls_MemberConnectorTrustingTheCa_RunsAFullSession()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = await RuntimeProcess.StartAsync(certificates.ServerArguments);

        Assert.StartsWith("https://127.0.0.1:", runtime.Address, StringComparison.Ordinal);
        Assert.Contains(runtime.StderrLines, l => l.Contains("TLS: certificate CN=localhost", StringComparison.Ordinal) && l.Contains("client certificates: none", StringComparison.Ordinal));

        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath));
    }

    [Fact]
    public async Task Tls_Pkcs12CertificateWithPassword_RunsAFullSession()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = await RuntimeProcess.StartAsync(
            [$"--UserCode:Grpc:Certificate:Path={certificates.ServerPfxPath}", $"--UserCode:Grpc:Certificate:Password={certificates.PfxPassword}"]);

        Assert.StartsWith("https://127.0.0.1:", runtime.Address, StringComparison.Ordinal);
        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath));
    }

    [Fact]
    public async Task Tls_Pkcs12WithAWrongPassword_ExitsTwoNamingTheKeyAndTheFile()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = RuntimeProcess.Start(
            [$"--UserCode:Grpc:Certificate:Path={certificates.ServerPfxPath}", "--UserCode:Grpc:Certificate:Password=wrong"]);
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));
        var line = Assert.Single(runtime.StderrLines);
        Assert.Contains($"UserCode:Grpc:Certificate:Path '{certificates.ServerPfxPath}' (read as PKCS#12", line, StringComparison.Ordinal);
        Assert.Contains("UserCode:Grpc:Certificate:Password", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_PlaintextClientAndClientNotTrustingTheCa_AreRefused_WhileTlsSessionsGoOn()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = await RuntimeProcess.StartAsync(certificates.ServerArguments);
        var port = new Uri(runtime.Address).Port;

        // Plaintext HTTP/2 to a TLS port: no Ready, the call fails.
        await AssertRefusedAsync(() => GrpcTestChannel.Open($"http://127.0.0.1:{port}"), runtime);

        // TLS, but trusting only the machine's store, which does not hold the test CA.
        await AssertRefusedAsync(() => OpenMemberChannel(runtime.Address, GrpcClientTls.Load(authorityPath: null)), runtime);

        // TLS trusting another CA.
        var otherCa = Path.Combine(certificates.Directory, "other-ca.pem");
        File.Copy(certificates.RogueClientCertificatePath, otherCa);
        await AssertRefusedAsync(() => OpenMemberChannel(runtime.Address, GrpcClientTls.Load(otherCa)), runtime);

        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath));
        Assert.False(runtime.HasExited);
    }

    [Fact]
    public async Task MutualTls_Require_RefusesNoCertificateAndForeignCertificate_AcceptsTheCasCertificate()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = await RuntimeProcess.StartAsync(
        [
            .. certificates.ServerArguments,
            "--UserCode:Grpc:ClientCertificate:Mode=require",
            $"--UserCode:Grpc:ClientCertificate:AuthorityPath={certificates.CaPath}",
        ]);
        Assert.Contains(runtime.StderrLines, l => l.Contains("client certificates: require", StringComparison.Ordinal));

        await AssertRefusedAsync(() => OpenMemberChannel(runtime.Address, GrpcClientTls.Load(certificates.CaPath)), runtime);

        var rogue = GrpcClientTls.Load(certificates.CaPath, certificates.RogueClientCertificatePath, certificates.RogueClientKeyPath);
        await AssertRefusedAsync(() => OpenMemberChannel(runtime.Address, rogue), runtime);
        await WaitForLogAsync(runtime, "TLS: client certificate CN=rogue-member refused");

        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath, certificates.ClientCertificatePath, certificates.ClientKeyPath));
    }

    [Fact]
    public async Task MutualTls_Allow_AcceptsNoCertificate_RefusesForeignCertificate()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = await RuntimeProcess.StartAsync(
        [
            .. certificates.ServerArguments,
            "--UserCode:Grpc:ClientCertificate:Mode=allow",
            $"--UserCode:Grpc:ClientCertificate:AuthorityPath={certificates.CaPath}",
        ]);

        var rogue = GrpcClientTls.Load(certificates.CaPath, certificates.RogueClientCertificatePath, certificates.RogueClientKeyPath);
        await AssertRefusedAsync(() => OpenMemberChannel(runtime.Address, rogue), runtime);
        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath));
        await RunIdentitySessionAsync(runtime, GrpcClientTls.Load(certificates.CaPath, certificates.ClientCertificatePath, certificates.ClientKeyPath));
    }

    [Fact]
    public async Task MutualTls_PythonGrpcClient_RunsTheInteropPlan()
    {
        using var certificates = TestCertificates.Create();
        var gen = Paths.NewTempDirectory();
        try
        {
            var pythonDir = Path.Combine(Paths.RepoRoot, "tests", "interop", "python-grpc");
            // Not skipped when grpcio is missing: the test command installs tests/apt-packages.txt.
            var (genCode, _, genErr) = await RunAsync("bash", [Path.Combine(pythonDir, "gen.sh"), gen], new Dictionary<string, string>());
            Assert.True(genCode == 0, $"gen.sh failed ({genCode}): is python3-grpcio/python3-grpc-tools installed? {genErr}");

            await using var runtime = await RuntimeProcess.StartAsync(
            [
                .. certificates.ServerArguments,
                "--UserCode:Grpc:ClientCertificate:Mode=require",
                $"--UserCode:Grpc:ClientCertificate:AuthorityPath={certificates.CaPath}",
            ]);
            var (code, stdout, stderr) = await RunAsync(
                "/usr/bin/python3",
                [
                    Path.Combine(pythonDir, "client.py"), "--address", runtime.Address,
                    "--ca", certificates.CaPath, "--cert", certificates.ClientCertificatePath, "--key", certificates.ClientKeyPath,
                    "--items", "1000", "--batch", "100", "--in-flight", "4", "--jex", Paths.Cli,
                ],
                new Dictionary<string, string> { ["JEX_PY_GEN"] = gen, ["JEX_TOKEN"] = RuntimeProcess.Token });
            output.WriteLine(stdout);
            var last = stdout.TrimEnd().Split('\n')[^1];
            Assert.True(code == 0 && last.StartsWith("ok (", StringComparison.Ordinal),
                $"python client exit {code}: {last}\n{stderr}\nruntime:\n{runtime.Log}");
            Assert.False(runtime.HasExited);
        }
        finally
        {
            Directory.Delete(gen, recursive: true);
        }
    }

    [Theory]
    [InlineData("missing-certificate")]
    [InlineData("garbage-certificate")]
    [InlineData("key-of-another-certificate")]
    [InlineData("missing-authority")]
    public async Task Tls_BadFile_ExitsTwoNamingTheKeyAndTheFile(string scenario)
    {
        using var certificates = TestCertificates.Create();
        var garbage = Path.Combine(certificates.Directory, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        var missing = Path.Combine(certificates.Directory, "no-such.pem");
        var (arguments, key, file) = scenario switch
        {
            "missing-certificate" => (new[] { $"--UserCode:Grpc:Certificate:Path={missing}" }, "UserCode:Grpc:Certificate:Path", missing),
            "garbage-certificate" => ([$"--UserCode:Grpc:Certificate:Path={garbage}", $"--UserCode:Grpc:Certificate:KeyPath={certificates.ServerKeyPath}"], "UserCode:Grpc:Certificate:Path", garbage),
            "key-of-another-certificate" => ([$"--UserCode:Grpc:Certificate:Path={certificates.ServerCertificatePath}", $"--UserCode:Grpc:Certificate:KeyPath={certificates.ClientKeyPath}"], "UserCode:Grpc:Certificate:Path", certificates.ServerCertificatePath),
            _ => ([.. certificates.ServerArguments, "--UserCode:Grpc:ClientCertificate:Mode=require", $"--UserCode:Grpc:ClientCertificate:AuthorityPath={missing}"], "UserCode:Grpc:ClientCertificate:AuthorityPath", missing),
        };

        await using var runtime = RuntimeProcess.Start(arguments);
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));
        var line = Assert.Single(runtime.StderrLines);
        output.WriteLine(line);
        Assert.StartsWith("jex-runtime: configuration error: ", line, StringComparison.Ordinal);
        Assert.Contains($"{key} '{file}'", line, StringComparison.Ordinal);
        Assert.Empty(runtime.StdoutLines);
    }

    [Theory]
    [InlineData("--UserCode:Grpc:ClientCertificate:Mode=require", "needs TLS: set UserCode:Grpc:Certificate:Path")]
    [InlineData("--UserCode:Grpc:ClientCertificate:Mode=sometimes", "UserCode:Grpc:ClientCertificate:Mode 'sometimes' is not one of none, allow, require")]
    [InlineData("--UserCode:Grpc:Certificate:KeyPath=/tmp/key.pem", "need UserCode:Grpc:Certificate:Path")]
    public async Task Tls_InconsistentSettings_ExitTwoNamingTheKey(string argument, string expected)
    {
        await using var runtime = RuntimeProcess.Start([argument]);
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));
        // One line per problem: Mode=require alone also lacks an authority.
        var lines = runtime.StderrLines.ToList();
        Assert.All(lines, l => Assert.StartsWith("jex-runtime: configuration error: ", l, StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_WithAUnixSocket_ExitsTwo_TheSocketModeGuardsIt()
    {
        using var certificates = TestCertificates.Create();
        await using var runtime = RuntimeProcess.Start(
            [.. certificates.ServerArguments, $"--UserCode:Grpc:Socket={Path.Combine(certificates.Directory, "jex.sock")}"]);
        Assert.Equal(2, await runtime.WaitForExitAsync(StartTimeout));
        Assert.Contains("UserCode:Grpc:Certificate:Path applies to TCP only", Assert.Single(runtime.StderrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(certificates.Directory, "jex.sock")));
    }

    private static ISessionChannel OpenMemberChannel(string address, GrpcClientTls tls)
    {
        var channel = GrpcSessionConnector.CreateChannel(address, tls);
        var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(GrpcSessionChannel.TransformMethod, null, new CallOptions());
        return new GrpcSessionChannel(channel, call);
    }

    /// <summary>Opens a session, runs 8 batches of "identity" through it and drains it.</summary>
    private static async Task RunIdentitySessionAsync(RuntimeProcess runtime, GrpcClientTls tls)
    {
        await using var session = new TestSession(OpenMemberChannel(runtime.Address, tls));
        await session.OpenAsync(TestSession.InitFor("identity"));
        var batches = Enumerable.Range(1, 8)
            .Select(b => TestSession.MakeBatch((ulong)b, Enumerable.Range(0, 50).Select(i => $"b{b}-{i}")))
            .ToList();
        var results = await session.RunAsync(batches, inFlight: 4);
        foreach (var batch in batches)
        {
            var result = results[batch.Id];
            Assert.Equal(batch.Items.Count, result.Results.Count);
            for (var i = 0; i < batch.Items.Count; i++)
            {
                Assert.Equal(batch.Items[i].Value, Assert.Single(result.Results[i].Ok.Outputs_).Value);
            }
        }

        var drained = await session.DrainAsync();
        Assert.Equal(8UL, drained.Batches);
    }

    /// <summary>The channel never reaches Ready: the connection is refused during the handshake.</summary>
    private static async Task AssertRefusedAsync(Func<ISessionChannel> open, RuntimeProcess runtime)
    {
        await using var session = new TestSession(open());
        var e = await Assert.ThrowsAnyAsync<Exception>(() => session.OpenAsync(TestSession.InitFor("identity")).WaitAsync(TestSession.Timeout));
        var ended = Assert.IsType<SessionEndedException>(e);
        Assert.True(
            ended.StatusCode is StatusCode.Unavailable or StatusCode.Internal,
            $"expected UNAVAILABLE or INTERNAL, got {ended.StatusCode}: {ended.Message}\n{runtime.Log}");
        Assert.DoesNotContain(session.Received, m => m.Ready is not null);
    }

    private static async Task WaitForLogAsync(RuntimeProcess runtime, string text)
    {
        // The runtime logs on its own thread; poll its captured stderr until the line appears.
        var watch = Stopwatch.StartNew();
        while (!runtime.StderrLines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"no log line '{text}' within 30 s:\n{runtime.Log}");
            await Task.Delay(20);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> arguments, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + file);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(180));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} still running after 180 s: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}

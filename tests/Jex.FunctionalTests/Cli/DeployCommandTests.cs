using Jex.FunctionalTests.Infrastructure;
using Jex.FunctionalTests.Member;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// The real out/cli/jex deploy against a real runtime started with UserCode:Deploy:Enabled: a
/// live session switches at its next batch on each deploy and on rollback; refusals are one line
/// with the exit code, and leave the current version serving.
/// </summary>
public sealed class DeployCommandTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(90);
    private readonly string _scratch = Paths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string SamplesV2 => Path.Combine(JexCli.Out, "samples-v2", "Jex.Samples");

    private static Dictionary<string, string> TokenEnv(string token) => new() { ["JEX_TEST_TOKEN"] = token };

    private static Task<CliResult> DeployAsync(RuntimeProcess runtime, string token, params string[] args) =>
        JexCli.RunAsync(["deploy", "--address", runtime.Address, "--token-env", "JEX_TEST_TOKEN", .. args], CliTimeout, TokenEnv(token));

    private static async Task<(string Value, string Version)> TransformAsync(TestSession session, ulong id, int n)
    {
        var batch = TestSession.MakeBatch(id, [$$"""{"value":{{n}}}"""]);
        var result = (await session.RunAsync([batch], inFlight: 1))[id];
        return (TestSession.Text(result.Results[0].Ok.Outputs_[0].Value), result.CodeVersion);
    }

    private async Task<(RuntimeProcess Runtime, TestSession Session)> StartAsync()
    {
        var runtime = await RuntimeProcess.StartAsync(
            ["--UserCode:Grpc:Port=0", "--UserCode:Deploy:Enabled=true", $"--UserCode:CodeDir={Path.Combine(_scratch, "code")}"],
            userCodePath: JexCli.Samples);
        var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        var init = TestSession.InitFor("doThingDotnet");
        init.ValueFormat = Format.Json;
        await session.OpenAsync(init);
        return (runtime, session);
    }

    [Fact]
    public async Task Deploy_ThenRollbackThenRemove_MovesTheLiveSessionEachTimeAndSaysHowLongTheSwitchTook()
    {
        var (runtime, session) = await StartAsync();
        await using var _ = runtime;
        await using var __ = session;
        Assert.Equal(("""{"value":"__1__"}""", "v0"), await TransformAsync(session, 1, 1));

        var v1 = await DeployAsync(runtime, RuntimeProcess.Token, JexCli.Samples, "--label", "samples 1");
        var v2 = await DeployAsync(runtime, RuntimeProcess.Token, SamplesV2);
        var onV2 = await TransformAsync(session, 2, 2);
        var rollback = await DeployAsync(runtime, RuntimeProcess.Token, "--activate", "v1");
        var onV1 = await TransformAsync(session, 3, 3);
        var list = await DeployAsync(runtime, RuntimeProcess.Token, "--list");
        var remove = await DeployAsync(runtime, RuntimeProcess.Token, "--remove", "v2");
        var listAfter = await DeployAsync(runtime, RuntimeProcess.Token, "--list");

        Assert.True(v1.ExitCode == 0, v1.ToString());
        Assert.Matches($@"^jex deploy: uploaded v1 from {System.Text.RegularExpressions.Regex.Escape(JexCli.Samples)} \(5 file\(s\), [\d.]+ KiB, sha256 [0-9a-f]{{12}}\)$", v1.StdoutLines[0]);
        Assert.Matches(@"^jex deploy: v1 is current \(was v0\): switch took [\d.]+ ms \(load [\d.]+ ms\); 1 session\(s\) move at their next batch; functions: .*doThingDotnet", v1.StdoutLines[1]);
        Assert.True(v2.ExitCode == 0, v2.ToString());
        Assert.StartsWith("jex deploy: v2 is current (was v1): switch took ", v2.StdoutLines[1], StringComparison.Ordinal);
        Assert.Equal(("""{"value":"__2__v2"}""", "v2"), onV2);
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.StartsWith("jex deploy: v1 is current (was v2): switch took ", Assert.Single(rollback.StdoutLines), StringComparison.Ordinal);
        Assert.Equal(("""{"value":"__3__"}""", "v1"), onV1);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.StdoutLines, l => l.StartsWith("v1\tcurrent\t5 file(s)\t", StringComparison.Ordinal) && l.EndsWith("\tsamples 1", StringComparison.Ordinal));
        Assert.Contains(list.StdoutLines, l => l.StartsWith("v2\t", StringComparison.Ordinal) && !l.StartsWith("v2\tcurrent", StringComparison.Ordinal));
        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.Equal("jex deploy: removed v2", Assert.Single(remove.StdoutLines));
        Assert.DoesNotContain(listAfter.StdoutLines, l => l.StartsWith("v2\t", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deploy_WhenTheCodeDoesNotLoad_ExitsOneWithTheRuntimesReason_AndTheOldVersionKeepsServing()
    {
        var (runtime, session) = await StartAsync();
        await using var _ = runtime;
        await using var __ = session;
        var broken = Directory.CreateDirectory(Path.Combine(_scratch, "broken")).FullName;
        foreach (var file in Directory.GetFiles(JexCli.Samples))
        {
            File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
        }

        // Cut in half: a file that claims to be the assembly but cannot be read as one.
        var dll = Path.Combine(broken, "Jex.Samples.dll");
        var bytes = await File.ReadAllBytesAsync(dll);
        await File.WriteAllBytesAsync(dll, bytes[..(bytes.Length / 2)]);

        var result = await DeployAsync(runtime, RuntimeProcess.Token, broken);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("jex deploy: uploaded v1 ", Assert.Single(result.StdoutLines), StringComparison.Ordinal);
        Assert.StartsWith("jex deploy: activation of v1 was refused, the current version keeps serving: ", result.Stderr.Trim(), StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Equal(("""{"value":"__4__"}""", "v0"), await TransformAsync(session, 1, 4));
    }

    [Fact]
    public async Task Deploy_WithAWrongToken_ExitsOneSayingTheRuntimeRefusedIt_AndStoresNothing()
    {
        var (runtime, session) = await StartAsync();
        await using var _ = runtime;
        await using var __ = session;

        var result = await DeployAsync(runtime, "not-the-token", SamplesV2);
        var list = await DeployAsync(runtime, RuntimeProcess.Token, "--list");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"jex deploy: the runtime at {runtime.Address} refused the token (set the right one in $JEX_TEST_TOKEN)", result.Stderr.Trim());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.DoesNotContain(list.StdoutLines, l => l.StartsWith("v1\t", StringComparison.Ordinal));
        Assert.Equal(("""{"value":"__5__"}""", "v0"), await TransformAsync(session, 1, 5));
    }

    [Fact]
    public async Task Deploy_WhenTheRuntimeDoesNotServeDeploy_ExitsOneSayingHowToTurnItOn()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"], userCodePath: JexCli.Samples);

        var result = await DeployAsync(runtime, RuntimeProcess.Token, SamplesV2);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"jex deploy: the runtime at {runtime.Address} does not serve jex.v1.Deploy: start it with --UserCode:Deploy:Enabled=true (jex run --watch does)", result.Stderr.Trim());
    }
}

using Jex.Member.Launch;
using Jex.Protocol.Contract;

namespace Jex.Member.Tests.Launch;

// The pure parts of container mode. The same paths run for real under podman in
// tests/containers/run.sh; these pin the command line and the address mapping.
public sealed class ContainerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jex-container-cmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ContainerLauncherOptions Options(params string[] runOptions) =>
        new() { Image = "localhost/jex-runtime:local", RunOptions = runOptions };

    [Fact]
    public void BuildRunArguments_ForGrpcWithUserCode_RunsAttachedPublishesLoopbackAndMountsReadOnly()
    {
        var launch = new RuntimeLaunchOptions("s3cret-token", TransportKind.Grpc, "unused");
        var mount = new UserCodeMount("/host/samples/Jex.Samples", "/usercode/Jex.Samples.dll");

        var args = ContainerCommand.BuildRunArguments(Options(), launch, "jex-runtime-42-abcd", 42, mount, "/tmp/jex-token-x/token");

        Assert.Equal(
            [
                "run", "--rm", "--name", "jex-runtime-42-abcd",
                "--label", "jex.runtime=1", "--label", "jex.owner-pid=42",
                "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
                "--cap-drop=ALL", "--security-opt=no-new-privileges",
                "--pids-limit", "512", "--memory", "1g", "--memory-swap", "1g",
                "--publish", "127.0.0.1::5252/tcp",
                "--volume", "/host/samples/Jex.Samples:/usercode:ro",
                "--volume", "/tmp/jex-token-x/token:/run/jex/token:ro",
                "localhost/jex-runtime:local",
                "--UserCode:Transport=grpc", "--UserCode:Grpc:Address=0.0.0.0", "--UserCode:Grpc:Port=5252",
                "--UserCode:Path=/usercode/Jex.Samples.dll",
                "--UserCode:TokenFile=/run/jex/token",
            ],
            args);
    }

    [Fact]
    public void BuildRunArguments_WhenDeployIsAsked_TurnsItOnButKeepsVersionsInTheContainer()
    {
        var launch = new RuntimeLaunchOptions("t", TransportKind.Grpc, "unused", ExtraArguments: ["--x=1"], Deploy: new DeployLaunchOptions("/host/only/dir"));

        var args = ContainerCommand.BuildRunArguments(Options(), launch, "jex-runtime-42-abcd", 42, null, "/tmp/jex-token-x/token");

        Assert.Equal(["--UserCode:Deploy:Enabled=true", "--x=1"], args.TakeLast(2));
        Assert.DoesNotContain(args, a => a.Contains("/host/only/dir", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildRunArguments_NeverCarriesTheTokenValueNorATokenVariable()
    {
        var launch = new RuntimeLaunchOptions("s3cret-token", TransportKind.Grpc, "unused", ExtraArguments: ["--x=1"]);

        var args = ContainerCommand.BuildRunArguments(Options(), launch, "n", 1, null, "/tmp/t/token");

        Assert.DoesNotContain(args, a => a.Contains("s3cret-token", StringComparison.Ordinal));
        Assert.DoesNotContain(args, a => a.Contains("UserCode__Token", StringComparison.Ordinal));
        Assert.DoesNotContain("--env", args);
    }

    [Fact]
    public void BuildRunArguments_WithJobLimits_PassesThemAndANonRootMemberRunsAsItself()
    {
        var options = Options() with { Memory = "512m", PidsLimit = 128 };

        var args = ContainerCommand.BuildRunArguments(options, new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), "n", 1, null, "/tmp/t/token", "1000:1000", keepUserNamespace: true).ToList();

        Assert.Equal("512m", args[args.IndexOf("--memory") + 1]);
        Assert.Equal("512m", args[args.IndexOf("--memory-swap") + 1]);
        Assert.Equal("128", args[args.IndexOf("--pids-limit") + 1]);
        Assert.Equal("1000:1000", args[args.IndexOf("--user") + 1]);
        Assert.True(args.IndexOf("--userns=keep-id") is > 0 and var i && i < args.IndexOf("localhost/jex-runtime:local"));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TokenFile_IsOwnerReadOnlyInAPrivateDirectoryAndGoneOnDispose()
    {
        string directory;
        using (var file = ContainerTokenFile.Create("tok-xyz", 10001, 10001))
        {
            directory = file.Directory;
            Assert.Equal("tok-xyz", File.ReadAllText(file.Path));
            Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(file.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            // Root gives the file to the image's user; anyone else runs the container as itself.
            if (Environment.UserName == "root")
            {
                Assert.Null(file.RunAs);
            }
            else
            {
                Assert.NotNull(file.RunAs);
            }
        }

        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void BuildRunArguments_WithFixedPortRunOptionsAndJobArgs_PlacesEachWhereItTakesEffect()
    {
        var launch = new RuntimeLaunchOptions("t", TransportKind.Grpc, "", GrpcPort: 5300, ExtraArguments: ["--usercode:uid=U1"]);

        var args = ContainerCommand.BuildRunArguments(Options("--memory=256m", "--cpus=1"), launch, "n", 1, null);

        Assert.Contains("127.0.0.1:5300:5252/tcp", args);
        var image = args.ToList().IndexOf("localhost/jex-runtime:local");
        // docker run options must precede the image; runtime arguments follow it, the job's last so they win.
        Assert.True(args.ToList().IndexOf("--memory=256m") < image);
        Assert.True(args.ToList().IndexOf("--cpus=1") < image);
        Assert.Equal("--usercode:uid=U1", args[^1]);
        Assert.DoesNotContain(args, a => a.StartsWith("--UserCode:Path=", StringComparison.Ordinal));
        Assert.DoesNotContain("--volume", args);
    }

    [Fact]
    public void MapUserCode_ForDllFile_MountsItsDirectoryAndPointsAtTheFile()
    {
        var dll = Path.Combine(_dir, "Jex.Samples.dll");
        File.WriteAllBytes(dll, [0x4d, 0x5a]);

        var mount = ContainerCommand.MapUserCode(dll, "/usercode");

        Assert.Equal(new UserCodeMount(_dir, "/usercode/Jex.Samples.dll"), mount);
    }

    [Fact]
    public void MapUserCode_ForRelativeDirectory_MountsItsFullPath()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _dir) + "/";

        var mount = ContainerCommand.MapUserCode(relative, "/usercode");

        Assert.Equal(new UserCodeMount(_dir, "/usercode"), mount);
    }

    [Fact]
    public void MapUserCode_WhenPathIsMissing_ThrowsNamingThePath()
    {
        var missing = Path.Combine(_dir, "nope", "Missing.dll");

        var ex = Assert.Throws<RuntimeStartException>(() => ContainerCommand.MapUserCode(missing, "/usercode"));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsFinal);
    }

    [Fact]
    public void MapUserCode_WhenNoUserCodeIsGiven_MountsNothing() =>
        Assert.Null(ContainerCommand.MapUserCode("", "/usercode"));

    [Fact]
    public void MapUserCode_WhenDirectoryHasColon_ThrowsBecauseVolumeSyntaxCannotExpressIt()
    {
        var odd = Directory.CreateDirectory(Path.Combine(_dir, "a:b")).FullName;

        var ex = Assert.Throws<RuntimeStartException>(() => ContainerCommand.MapUserCode(odd, "/usercode"));

        Assert.Contains("':'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shared-memory", null, "'grpc' only, not 'shared-memory'")]
    [InlineData("grpc", "/run/jex.sock", "Unix socket")]
    public void Validate_WhenContainerCannotServeTheTransport_ThrowsSayingWhy(string transport, string? socket, string expected)
    {
        Assert.True(TransportKinds.TryParse(transport, out var kind));
        var launch = new RuntimeLaunchOptions("t", kind, "", GrpcSocket: socket);

        var ex = Assert.Throws<RuntimeStartException>(() => ContainerCommand.Validate(launch));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsFinal);
    }

    [Theory]
    [InlineData("127.0.0.1:37167\n", 37167)]                   // podman, one binding
    [InlineData("0.0.0.0:40001\n[::]:40002\n", 40001)]         // docker, published on all interfaces
    [InlineData("[::]:40002\n127.0.0.1:40003\n", 40003)]       // the loopback binding wins
    public void ParsePublishedPort_ReadsTheHostPortForTheHostAddress(string output, int expected) =>
        Assert.Equal(expected, ContainerCommand.ParsePublishedPort(output, "127.0.0.1"));

    [Fact]
    public void ParsePublishedPort_WhenOutputHasNoPort_ThrowsQuotingIt()
    {
        var ex = Assert.Throws<RuntimeStartException>(() => ContainerCommand.ParsePublishedPort("Error: no public port\n", "127.0.0.1"));

        Assert.Contains("no public port", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslateAddress_MapsTheContainerEndpointToThePublishedHostPort() =>
        Assert.Equal("http://127.0.0.1:37167", ContainerCommand.TranslateAddress("http://0.0.0.0:5252", 5252, "127.0.0.1", 37167));

    [Fact]
    public void TranslateAddress_ForIpv6HostAddress_Brackets() =>
        Assert.Equal("http://[::1]:40000", ContainerCommand.TranslateAddress("http://[::]:5252", 5252, "::1", 40000));

    [Fact]
    public void TranslateAddress_WhenRuntimeListensOnAnotherPort_ThrowsNamingBothPorts()
    {
        var ex = Assert.Throws<RuntimeStartException>(() => ContainerCommand.TranslateAddress("http://0.0.0.0:6000", 5252, "127.0.0.1", 1));

        Assert.Contains("6000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5252", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslateAddress_WhenRuntimeAnnouncesAUnixSocket_Throws() =>
        Assert.Throws<RuntimeStartException>(() => ContainerCommand.TranslateAddress("unix:/tmp/x.sock", 5252, "127.0.0.1", 1));
}

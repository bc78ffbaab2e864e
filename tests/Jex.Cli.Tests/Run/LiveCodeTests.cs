using Jex.Cli.Run;
using Jex.Protocol.Contract;

namespace Jex.Cli.Tests.Run;

/// <summary>jex run --watch's private copy of the user code, and where it deploys to.</summary>
public sealed class LiveCodeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-livecode-unit-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Start_CopiesTheCodeTheRuntimeStartsFrom_IntoAPrivateFolderRemovedAtTheEnd()
    {
        var code = Directory.CreateDirectory(Path.Combine(_root, "code")).FullName;
        File.WriteAllText(Path.Combine(code, "A.dll"), "a");
        Directory.CreateDirectory(Path.Combine(code, "sub"));
        File.WriteAllText(Path.Combine(code, "sub", "B.dll"), "b");

        var live = LiveCode.Start(code, code, TextWriter.Null);
        var start = live.StartPath;
        File.WriteAllText(Path.Combine(code, "A.dll"), "changed");

        Assert.NotEqual(code, start);
        Assert.Equal("a", File.ReadAllText(Path.Combine(start, "A.dll")));
        Assert.Equal("b", File.ReadAllText(Path.Combine(start, "sub", "B.dll")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(start)!));
        Assert.Equal(0, live.Deploys);
        await live.DisposeAsync();
        Assert.False(Directory.Exists(start));
    }

    [Fact]
    public async Task Start_WhenTheCodeIsADll_StartsFromACopyOfThatFile()
    {
        var dll = Path.Combine(_root, "Acme.dll");
        File.WriteAllText(dll, "x");

        await using var live = LiveCode.Start(dll, dll, TextWriter.Null);

        Assert.Equal("Acme.dll", Path.GetFileName(live.StartPath));
        Assert.NotEqual(dll, live.StartPath);
        Assert.Equal("x", File.ReadAllText(live.StartPath));
    }

    [Theory]
    [InlineData("grpc", "http://127.0.0.1:4000", null, "http://127.0.0.1:4000")]
    [InlineData("grpc", "http://127.0.0.1:4000", "http://127.0.0.1:4000", "http://127.0.0.1:4000")]
    [InlineData("shared-memory", "/dev/shm/jex-1/x", "unix:/dev/shm/jex-1/x.deploy", "unix:/dev/shm/jex-1/x.deploy")]
    [InlineData("shared-memory", "/dev/shm/jex-1/x", null, null)]
    public void DeployAddress_IsTheReadyLinesDeployField_OrTheGrpcAddress(string transport, string address, string? deploy, string? expected) =>
        Assert.Equal(expected, LiveCode.DeployAddress(new RuntimeReadyInfo(transport, address, 1, "v", []) { Deploy = deploy }));
}

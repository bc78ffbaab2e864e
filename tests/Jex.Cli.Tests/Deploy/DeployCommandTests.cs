using Jex.Cli.Deploy;

namespace Jex.Cli.Tests.Deploy;

/// <summary>jex deploy's command line: what it refuses before calling anything, and where it sends the calls.</summary>
public sealed class DeployCommandTests
{
    private static DeployRequest Request(string? path = "code", string? address = "127.0.0.1:5252", string? socket = null, bool list = false, string? activate = null, string? remove = null) =>
        new(path, address, socket, "UserCode__Token", null, list, activate, remove);

    [Theory]
    [InlineData("127.0.0.1:5252", "http://127.0.0.1:5252")]
    [InlineData("http://10.0.0.1:80", "http://10.0.0.1:80")]
    [InlineData("https://runtime:443", "https://runtime:443")]
    public void Target_WhenAnAddressIsGiven_AddsHttpOnlyWhenItHasNoScheme(string address, string expected) =>
        Assert.Equal(expected, Request(address: address).Target);

    [Fact]
    public void Target_WhenASocketIsGiven_IsItsFullPath() =>
        Assert.Equal("unix:" + Path.GetFullPath("run/deploy.sock"), Request(address: null, socket: "run/deploy.sock").Target);

    [Theory]
    [InlineData("code", null, null, false, null, null, "give the runtime's address with exactly one of --address HOST:PORT or --socket PATH")]
    [InlineData("code", "127.0.0.1:1", "/s", false, null, null, "give the runtime's address with exactly one of --address HOST:PORT or --socket PATH")]
    [InlineData("code", "ftp://x:1", null, false, null, null, "--address 'ftp://x:1' is not host:port, http://host:port or https://host:port")]
    [InlineData(null, "127.0.0.1:1", null, true, "v1", null, "--list, --activate and --remove exclude each other")]
    [InlineData("code", "127.0.0.1:1", null, false, "v1", null, "PATH (code) deploys new code; it cannot be combined with --list, --activate or --remove")]
    [InlineData(null, "127.0.0.1:1", null, false, null, null, "give PATH (a build output folder, a .dll or a .csproj), or --list, --activate VERSION or --remove VERSION")]
    public void Problem_NamesWhatIsWrongWithTheCommandLine(string? path, string? address, string? socket, bool list, string? activate, string? remove, string expected) =>
        Assert.Equal(expected, Request(path, address, socket, list, activate, remove).Problem());

    [Theory]
    [InlineData("code", false, null, null)]
    [InlineData(null, true, null, null)]
    [InlineData(null, false, "v1", null)]
    [InlineData(null, false, null, "v1")]
    public void Problem_WhenTheCommandLineIsComplete_IsNull(string? path, bool list, string? activate, string? remove) =>
        Assert.Null(Request(path, list: list, activate: activate, remove: remove).Problem());

    [Fact]
    public async Task Run_WhenTheCommandLineIsWrong_ExitsTwoWithOneLineAndCallsNothing()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await DeployCommand.RunAsync(Request(address: null), stdout, stderr, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(DeployCommand.ExitBadInput, code);
        Assert.Equal("jex deploy: give the runtime's address with exactly one of --address HOST:PORT or --socket PATH" + Environment.NewLine, stderr.ToString());
        Assert.Equal("", stdout.ToString());
    }

    [Fact]
    public async Task Run_WhenThePathDoesNotExist_ExitsTwoNamingIt()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var missing = Path.Combine(Path.GetTempPath(), "jex-no-such-" + Guid.NewGuid().ToString("N"));

        var code = await DeployCommand.RunAsync(Request(path: missing), stdout, stderr, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(DeployCommand.ExitBadInput, code);
        Assert.Equal($"jex deploy: {missing} does not exist: give the user code's build output folder, its .dll or its .csproj" + Environment.NewLine, stderr.ToString());
    }

    [Fact]
    public async Task Run_WhenNothingListensAtTheAddress_ExitsThreeSayingSo()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var socket = Path.Combine(Path.GetTempPath(), "jex-none-" + Guid.NewGuid().ToString("N") + ".sock");

        var code = await DeployCommand.RunAsync(Request(path: null, address: null, socket: socket, list: true), stdout, stderr, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(DeployCommand.ExitUnreachable, code);
        Assert.StartsWith($"jex deploy: no runtime answers at unix:{socket} (", stderr.ToString(), StringComparison.Ordinal);
    }
}

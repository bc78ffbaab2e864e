using Jex.Cli.Run;

namespace Jex.Cli.Tests.Run;

public sealed class RuntimeLocatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-locator-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Touch(params string[] parts)
    {
        var path = Path.Combine([_root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void Locate_WhenTheToolCarriesRuntimeBesideIt_ReturnsThatOne()
    {
        var tool = Path.Combine(_root, "tools", "net10.0", "any");
        var expected = Touch("tools", "net10.0", "any", "runtime", "jex-runtime");

        Assert.Equal(expected, new RuntimeLocator(tool, _ => null).Locate());
    }

    [Fact]
    public void Locate_WhenRuntimeIsASiblingFolder_ReturnsTheDemoBuildLayout()
    {
        var expected = Touch("out", "runtime", "jex-runtime");

        Assert.Equal(expected, new RuntimeLocator(Path.Combine(_root, "out", "cli"), _ => null).Locate());
    }

    [Fact]
    public void Locate_WhenJexRuntimeNamesAFolder_ReturnsTheExecutableInItFirst()
    {
        Touch("out", "runtime", "jex-runtime");
        var expected = Touch("custom", "jex-runtime");

        var found = new RuntimeLocator(Path.Combine(_root, "out", "cli"), name => name == "JEX_RUNTIME" ? Path.Combine(_root, "custom") : null).Locate();

        Assert.Equal(expected, found);
    }

    [Fact]
    public void Locate_WhenTheRuntimeIsNotExecutable_SaysToChmodIt()
    {
        var path = Touch("out", "runtime", "jex-runtime");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var ex = Assert.Throws<PreflightException>(() => new RuntimeLocator(Path.Combine(_root, "out", "cli"), _ => null).Locate());

        Assert.Contains($"{path} (jex's ../runtime) is not executable; run chmod u+x {path}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_WhenNothingExists_ThrowsOneLineListingEveryPathLookedAt()
    {
        var tool = Path.Combine(_root, "nowhere", "cli");

        var ex = Assert.Throws<PreflightException>(() => new RuntimeLocator(tool, _ => null).Locate());

        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains(Path.Combine(tool, "runtime", "jex-runtime"), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_root, "nowhere", "runtime", "jex-runtime"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("$JEX_RUNTIME is not set", ex.Message, StringComparison.Ordinal);
        Assert.Contains("set JEX_RUNTIME=PATH", ex.Message, StringComparison.Ordinal);
    }
}

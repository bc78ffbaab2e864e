using System.IO.Compression;
using System.Security.Cryptography;
using Jex.Cli.Deploy;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Deploy;

/// <summary>What jex deploy sends: a folder as a deterministic zip of relative paths, a .dll as it is, and one line for anything else.</summary>
public sealed class CodePackageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-package-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void FromPath_WhenAFolder_ZipsEveryFileAtItsRelativePathInOrder()
    {
        Write("code/B.dll", "bbb");
        Write("code/A.dll", "aa");
        Write("code/runtimes/linux-x64/native/lib.so", "native");

        var package = CodePackage.FromPath(Path.Combine(_root, "code"));

        Assert.Equal(PackageKind.Zip, package.Kind);
        Assert.Equal("", package.FileName);
        Assert.Equal(3, package.Files);
        Assert.Equal(2 + 3 + 6, package.ExpandedBytes);
        Assert.Equal(SHA256.HashData(package.Bytes), package.Sha256);
        using var zip = new ZipArchive(new MemoryStream(package.Bytes));
        Assert.Equal(["A.dll", "B.dll", "runtimes/linux-x64/native/lib.so"], zip.Entries.Select(e => e.FullName));
        using var reader = new StreamReader(zip.GetEntry("runtimes/linux-x64/native/lib.so")!.Open());
        Assert.Equal("native", reader.ReadToEnd());
    }

    [Fact]
    public void FromFolder_WhenTheSameFilesAreWrittenAgainLater_GivesTheSameHash_AndADifferentOneWhenAByteChanges()
    {
        var file = Write("code/A.dll", "one");
        var first = CodePackage.FromFolder(Path.Combine(_root, "code"));

        File.WriteAllText(file, "one");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(1));
        var again = CodePackage.FromFolder(Path.Combine(_root, "code"));
        File.WriteAllText(file, "two");
        var changed = CodePackage.FromFolder(Path.Combine(_root, "code"));

        Assert.Equal(first.Sha256Hex, again.Sha256Hex);
        Assert.NotEqual(first.Sha256Hex, changed.Sha256Hex);
    }

    [Fact]
    public void FromPath_WhenADll_SendsItAloneAsAnAssemblyWithItsFileName()
    {
        var dll = Write("Acme.Fn.dll", "MZ-not-really");

        var package = CodePackage.FromPath(dll);

        Assert.Equal(PackageKind.Assembly, package.Kind);
        Assert.Equal("Acme.Fn.dll", package.FileName);
        Assert.Equal("MZ-not-really"u8.ToArray(), package.Bytes);
        Assert.Equal(1, package.Files);
    }

    [Fact]
    public void FromFolder_WhenItHoldsASymbolicLink_RefusesNamingTheLinkAndItsTarget()
    {
        var target = Write("elsewhere/secret.txt", "x");
        Write("code/A.dll", "a");
        var link = Path.Combine(_root, "code", "secret.txt");
        File.CreateSymbolicLink(link, target);

        var ex = Assert.Throws<CodePackageException>(() => CodePackage.FromFolder(Path.Combine(_root, "code")));

        Assert.Equal($"{link} is a symbolic link (to {target}); jex deploy does not follow links: copy the file itself into {Path.Combine(_root, "code")}", ex.Message);
    }

    [Fact]
    public void FromFolder_WhenASubfolderIsASymbolicLink_RefusesIt()
    {
        Write("elsewhere/x.dll", "x");
        Write("code/A.dll", "a");
        var link = Path.Combine(_root, "code", "more");
        Directory.CreateSymbolicLink(link, Path.Combine(_root, "elsewhere"));

        var ex = Assert.Throws<CodePackageException>(() => CodePackage.FromFolder(Path.Combine(_root, "code")));

        Assert.StartsWith($"{link} is a symbolic link", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPath_WhenMissingEmptyOrNotADll_SaysWhatToGive()
    {
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        var text = Write("notes.txt", "hi");

        var missing = Assert.Throws<CodePackageException>(() => CodePackage.FromPath(Path.Combine(_root, "nope")));
        var empty = Assert.Throws<CodePackageException>(() => CodePackage.FromPath(Path.Combine(_root, "empty")));
        var other = Assert.Throws<CodePackageException>(() => CodePackage.FromPath(text));

        Assert.Equal($"{Path.Combine(_root, "nope")} does not exist: give the user code's build output folder, its .dll or its .csproj", missing.Message);
        Assert.Equal($"{Path.Combine(_root, "empty")} holds no files: build the user code first, or give its output folder", empty.Message);
        Assert.StartsWith($"{text} is neither a folder nor a .dll", other.Message, StringComparison.Ordinal);
    }
}

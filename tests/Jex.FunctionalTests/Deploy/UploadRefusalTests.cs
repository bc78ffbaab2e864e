using System.IO.Compression;
using Google.Protobuf;
using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Deploy;

/// <summary>One runtime with small deploy limits, shared by the class; each refused upload must leave nothing behind.</summary>
public sealed class RefusingRuntime : IAsyncLifetime
{
    public const int MaxBytes = 200_000;
    public const int MaxFiles = 20;

    public string CodeDir { get; } = Path.Combine(Paths.NewTempDirectory(), "code");

    public RuntimeProcess Runtime { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Runtime = await RuntimeProcess.StartAsync(
            ["--UserCode:Grpc:Port=0", "--UserCode:Deploy:Enabled=true", $"--UserCode:CodeDir={CodeDir}",
             $"--UserCode:Deploy:MaxBytes={MaxBytes}", $"--UserCode:Deploy:MaxFiles={MaxFiles}"]);

    public async Task DisposeAsync()
    {
        await Runtime.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(CodeDir)!, recursive: true);
    }
}

public sealed class UploadRefusalTests(RefusingRuntime fixture) : IClassFixture<RefusingRuntime>
{
    private static byte[] ZipOf(params (string Name, byte[] Content, int? UnixMode)[] entries)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                if (mode is { } m)
                {
                    entry.ExternalAttributes = m << 16;
                }

                using var stream = entry.Open();
                stream.Write(content);
            }
        }

        return memory.ToArray();
    }

    /// <summary>
    /// A one-entry zip whose entry name "X" is cut out, leaving a name of length 0 (ZipArchive will
    /// not write one): one byte less in the local header and in the central directory, whose offset
    /// and size the end record then gives one byte less.
    /// </summary>
    private static byte[] WithEmptyName(byte[] zip)
    {
        var bytes = zip.ToList();
        var central = zip.Length - 22 - BitConverter.ToInt32(zip, zip.Length - 22 + 12);
        bytes.RemoveAt(central + 46);
        bytes[central + 28] = 0;
        bytes.RemoveAt(30);
        bytes[26] = 0;
        var result = bytes.ToArray();
        var end = result.Length - 22;
        BitConverter.TryWriteBytes(result.AsSpan(end + 12), BitConverter.ToInt32(result, end + 12) - 1);
        BitConverter.TryWriteBytes(result.AsSpan(end + 16), BitConverter.ToInt32(result, end + 16) - 1);
        return result;
    }

    private static readonly byte[] Small = "MZ not really an assembly"u8.ToArray();

    public static TheoryData<string, StatusCode, string> Cases => new()
    {
        { "absolute path", StatusCode.InvalidArgument, "zip entry '/etc/evil.dll' has an absolute path" },
        { "dot dot", StatusCode.InvalidArgument, "zip entry 'lib/../../evil.dll' contains '..'" },
        { "empty name", StatusCode.InvalidArgument, "an entry with an empty name" },
        { "symlink", StatusCode.InvalidArgument, "zip entry 'link.dll' is a symbolic link" },
        { "hash mismatch", StatusCode.DataLoss, "SHA-256" },
        { "size mismatch", StatusCode.DataLoss, "but the header says" },
        { "over max bytes", StatusCode.ResourceExhausted, "UserCode:Deploy:MaxBytes (200000 bytes)" },
        { "over max bytes, header lies", StatusCode.ResourceExhausted, "bytes received" },
        { "compression bomb", StatusCode.ResourceExhausted, "expands to more than UserCode:Deploy:MaxBytes" },
        { "over max files", StatusCode.ResourceExhausted, "more than UserCode:Deploy:MaxFiles (20)" },
        { "chunk over 1 MiB", StatusCode.ResourceExhausted, "over the limit of 1048576 bytes" },
        { "no header", StatusCode.InvalidArgument, "carries no header" },
        { "not a zip", StatusCode.InvalidArgument, "is not a zip" },
        { "assembly name with a folder", StatusCode.InvalidArgument, "file name '../Acme.dll' is not a plain assembly file name" },
        { "assembly that is not one", StatusCode.InvalidArgument, "'Acme.dll' is not an assembly" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_RefusedUpload_GetsItsStatus_NamesWhatIsWrong_AndLeavesNothingBehind(string name, StatusCode status, string message)
    {
        using var deploy = new DeployClient(fixture.Runtime.Address);

        var e = await Assert.ThrowsAsync<RpcException>(() => Upload(deploy, name));

        Assert.Equal(status, e.StatusCode);
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(fixture.CodeDir));
        Assert.Equal(["v0"], (await deploy.ListAsync()).Versions.Select(v => v.Version));
    }

    private static Task<UploadResult> Upload(DeployClient deploy, string name) => name switch
    {
        "absolute path" => deploy.UploadAsync(ZipOf(("ok.dll", Small, null), ("/etc/evil.dll", Small, null)), PackageKind.Zip),
        "dot dot" => deploy.UploadAsync(ZipOf(("lib/../../evil.dll", Small, null)), PackageKind.Zip),
        "empty name" => deploy.UploadAsync(WithEmptyName(ZipOf(("X", Small, null))), PackageKind.Zip),
        "symlink" => deploy.UploadAsync(ZipOf(("link.dll", "/etc/passwd"u8.ToArray(), 0xA1FF)), PackageKind.Zip),
        "hash mismatch" => deploy.UploadAsync(ZipOf(("a.dll", Small, null)), PackageKind.Zip, alter: h => h.Sha256 = ByteString.CopyFrom(new byte[32])),
        "size mismatch" => deploy.UploadAsync(ZipOf(("a.dll", Small, null)), PackageKind.Zip, alter: h => h.Size += 1),
        "over max bytes" => deploy.UploadAsync(ZipOf(("big.dll", Random.Shared.GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 250_000), null)), PackageKind.Zip),
        "over max bytes, header lies" => deploy.UploadAsync(
            ZipOf(("big.dll", Random.Shared.GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 250_000), null)), PackageKind.Zip,
            chunkBytes: 50_000, alter: h => h.Size = 1000),
        "compression bomb" => deploy.UploadAsync(ZipOf(("zeros.dll", new byte[50_000_000], null)), PackageKind.Zip),
        "over max files" => deploy.UploadAsync(ZipOf([.. Enumerable.Range(0, 21).Select(i => ($"f{i}.dll", Small, (int?)null))]), PackageKind.Zip),
        "chunk over 1 MiB" => deploy.UploadAsync(new byte[1_100_000], PackageKind.Zip, chunkBytes: 1_100_000, alter: h => h.Size = 10),
        "no header" => deploy.UploadWithoutHeaderAsync(Small),
        "not a zip" => deploy.UploadAsync(new byte[5000], PackageKind.Zip),
        "assembly name with a folder" => deploy.UploadAsync(Small, PackageKind.Assembly, fileName: "../Acme.dll"),
        "assembly that is not one" => deploy.UploadAsync("PK not an assembly"u8.ToArray(), PackageKind.Assembly, fileName: "Acme.dll"),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
    };
}

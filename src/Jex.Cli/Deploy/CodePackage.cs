using System.IO.Compression;
using System.Security.Cryptography;
using Jex.Protocol.V1;

namespace Jex.Cli.Deploy;

/// <summary>
/// What <c>jex deploy</c> and <c>jex run --watch</c> upload: a folder zipped in memory, or one
/// .dll as it is, with the SHA-256 the runtime checks.
/// </summary>
/// <remarks>
/// The zip is deterministic (entries in ordinal order, one fixed time stamp), so the same files
/// always give the same hash: --watch uses that to skip a change that changed nothing.
/// </remarks>
internal sealed class CodePackage
{
    // The zip format's first representable date: nothing about this machine or this moment.
    private static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private CodePackage(PackageKind kind, string fileName, byte[] bytes, int files, long expandedBytes, string source)
    {
        Kind = kind;
        FileName = fileName;
        Bytes = bytes;
        Files = files;
        ExpandedBytes = expandedBytes;
        Source = source;
        Sha256 = SHA256.HashData(bytes);
    }

    public PackageKind Kind { get; }

    /// <summary>For a .dll: its file name (no folder); empty for a zip.</summary>
    public string FileName { get; }

    public byte[] Bytes { get; }

    public byte[] Sha256 { get; }

    /// <summary>Files in the package.</summary>
    public int Files { get; }

    /// <summary>The files' total size before compression.</summary>
    public long ExpandedBytes { get; }

    /// <summary>The folder or file it was made from, for messages.</summary>
    public string Source { get; }

    public string Sha256Hex => Convert.ToHexStringLower(Sha256);

    /// <summary>A folder as a zip, or a .dll as it is.</summary>
    /// <exception cref="CodePackageException">The path is neither, is empty, or holds a symbolic link; the message names it.</exception>
    public static CodePackage FromPath(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return FromFolder(full);
        }

        if (File.Exists(full))
        {
            if (!full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                throw new CodePackageException($"{path} is neither a folder nor a .dll (a .csproj is built first by jex deploy): give the build output folder, the assembly, or the project");
            }

            var bytes = File.ReadAllBytes(full);
            return new CodePackage(PackageKind.Assembly, Path.GetFileName(full), bytes, 1, bytes.Length, full);
        }

        throw new CodePackageException($"{path} does not exist: give the user code's build output folder, its .dll or its .csproj");
    }

    /// <summary>
    /// Every file under <paramref name="folder"/> at its relative path ('/' separated). Symbolic
    /// links are not followed: a link is refused, since the runtime would refuse it too and the
    /// files it points to may be anyone's.
    /// </summary>
    public static CodePackage FromFolder(string folder)
    {
        var root = new DirectoryInfo(Path.GetFullPath(folder));
        var files = new List<(string Name, FileInfo File)>();
        Collect(root, root, files);
        if (files.Count == 0)
        {
            throw new CodePackageException($"{root.FullName} holds no files: build the user code first, or give its output folder");
        }

        files.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        using var memory = new MemoryStream();
        long expanded = 0;
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, file) in files)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
                entry.LastWriteTime = EntryTime;
                using var target = entry.Open();
                using var source = OpenForPackaging(file);
                source.CopyTo(target);
                expanded += source.Length;
            }
        }

        return new CodePackage(PackageKind.Zip, "", memory.ToArray(), files.Count, expanded, root.FullName);
    }

    private static void Collect(DirectoryInfo root, DirectoryInfo folder, List<(string, FileInfo)> files)
    {
        foreach (var info in folder.EnumerateFileSystemInfos())
        {
            if (info.LinkTarget is not null)
            {
                throw new CodePackageException($"{info.FullName} is a symbolic link (to {info.LinkTarget}); jex deploy does not follow links: copy the file itself into {root.FullName}");
            }

            switch (info)
            {
                case DirectoryInfo sub:
                    Collect(root, sub, files);
                    break;
                case FileInfo file:
                    files.Add((Path.GetRelativePath(root.FullName, file.FullName).Replace(Path.DirectorySeparatorChar, '/'), file));
                    break;
            }
        }
    }

    private static FileStream OpenForPackaging(FileInfo file)
    {
        try
        {
            return file.OpenRead();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CodePackageException($"{file.FullName} cannot be read: {ex.Message.TrimEnd('.')}");
        }
    }
}

/// <summary>The user code cannot be packaged; the message names the path and what to do.</summary>
internal sealed class CodePackageException(string message) : Exception(message);

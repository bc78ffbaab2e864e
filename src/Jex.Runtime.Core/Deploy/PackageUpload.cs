using System.IO.Compression;
using System.Security.Cryptography;
using Jex.Protocol.V1;
using Log = Jex.Runtime.Diagnostics.Log;
using StatusCode = Grpc.Core.StatusCode;

namespace Jex.Runtime.Deploy;

/// <summary>
/// One Upload call: takes the chunks, hashing and counting as it writes them, then checks and
/// unpacks the package. Every refusal is a <see cref="DeployException"/> naming the entry or the
/// limit; disposing an upload that did not complete deletes everything it wrote.
/// </summary>
internal sealed class PackageUpload : IDisposable
{
    private readonly VersionStore _store;
    private readonly string _temp;
    private readonly ILogger _logger;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly FileStream _package;
    private UploadHeader? _header;
    private long _received;

    internal PackageUpload(VersionStore store, string temp, ILogger logger)
    {
        _store = store;
        _temp = temp;
        _logger = logger;
        _package = new FileStream(Path.Combine(temp, "package"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            UnixCreateMode = VersionStore.FileMode,
        });
    }

    /// <summary>Takes the next chunk: the first must carry the header.</summary>
    public void Add(UploadChunk chunk)
    {
        if (_header is null)
        {
            _header = chunk.Header ?? throw Refuse(StatusCode.InvalidArgument, "the first chunk of an Upload carries no header: send the label, kind, file name, SHA-256 and size first");
            CheckHeader(_header);
        }

        var data = chunk.Data.Span;
        if (data.Length > VersionStore.MaxChunkBytes)
        {
            throw Refuse(StatusCode.ResourceExhausted, $"a chunk of {data.Length} bytes is over the limit of {VersionStore.MaxChunkBytes} bytes (1 MiB); split the package into smaller chunks");
        }

        _received += data.Length;
        if (_received > _store.MaxBytes)
        {
            throw Refuse(StatusCode.ResourceExhausted, $"the package is over UserCode:Deploy:MaxBytes ({_store.MaxBytes} bytes) after {_received} bytes received; make it smaller or raise the limit");
        }

        _hash.AppendData(data);
        _package.Write(data);
    }

    private void CheckHeader(UploadHeader header)
    {
        if (header.Kind == PackageKind.Unspecified)
        {
            throw Refuse(StatusCode.InvalidArgument, "the header's kind is unspecified: say PACKAGE_KIND_ZIP (a zip of the user-code folder) or PACKAGE_KIND_ASSEMBLY (one .dll)");
        }

        if (header.Sha256.Length != 32)
        {
            throw Refuse(StatusCode.InvalidArgument, $"the header's sha256 has {header.Sha256.Length} bytes; it must be the 32-byte SHA-256 of the whole package");
        }

        if (header.Size > (ulong)_store.MaxBytes)
        {
            throw Refuse(StatusCode.ResourceExhausted, $"the package's size {header.Size} is over UserCode:Deploy:MaxBytes ({_store.MaxBytes} bytes); make it smaller or raise the limit");
        }

        if (header.Kind == PackageKind.Assembly)
        {
            var name = header.FileName;
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or ".."
                || !name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                throw Refuse(StatusCode.InvalidArgument, $"file name '{name}' is not a plain assembly file name: give the .dll's name with no folder, e.g. Acme.Functions.dll");
            }
        }
    }

    /// <summary>
    /// Checks what arrived against the header and unpacks it into a new version folder with the id
    /// <paramref name="nextId"/> gives (called only once everything passed, so refusals use no id).
    /// </summary>
    public CodeVersion Complete(Func<string> nextId)
    {
        var header = _header ?? throw Refuse(StatusCode.InvalidArgument, "the Upload stream ended without any chunk; send a header and the package");
        if ((ulong)_received != header.Size)
        {
            throw Refuse(StatusCode.DataLoss, $"received {_received} bytes but the header says {header.Size}; the package was cut or padded on the way: send it again");
        }

        var sha = _hash.GetHashAndReset();
        if (!header.Sha256.Span.SequenceEqual(sha))
        {
            throw Refuse(StatusCode.DataLoss, $"the received bytes' SHA-256 is {Convert.ToHexStringLower(sha)}, not {Convert.ToHexStringLower(header.Sha256.Span)} as the header says; the package was altered on the way or the header is wrong: send it again");
        }

        var files = Path.Combine(_temp, "files");
        Directory.CreateDirectory(files, VersionStore.FolderMode);
        _package.Position = 0;
        var (count, bytes) = header.Kind == PackageKind.Zip ? Unzip(files) : CopyAssembly(files, header.FileName);
        _package.Dispose();

        var id = nextId();
        var directory = _store.Commit(files, id);
        Log.VersionStored(_logger, id, header.Label, count, bytes, directory);
        return new CodeVersion(id, header.Label, directory, sha, count, bytes, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), removable: true);
    }

    private (int Files, long Bytes) CopyAssembly(string files, string fileName)
    {
        Span<byte> magic = stackalloc byte[2];
        if (_package.ReadAtLeast(magic, 2, throwOnEndOfStream: false) < 2 || magic[0] != (byte)'M' || magic[1] != (byte)'Z')
        {
            throw Refuse(StatusCode.InvalidArgument, $"'{fileName}' is not an assembly (no PE header); send a .dll, or a zip with PACKAGE_KIND_ZIP");
        }

        _package.Position = 0;
        using var target = Create(Path.Combine(files, fileName));
        _package.CopyTo(target);
        return (1, _received);
    }

    private (int Files, long Bytes) Unzip(string files)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(_package, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw Refuse(StatusCode.InvalidArgument, $"the package is not a zip ({e.Message.TrimEnd('.')}); send a zip of the user-code folder, or one .dll with PACKAGE_KIND_ASSEMBLY");
        }

        using (zip)
        {
            // Every name is checked before anything is written, so a bad entry late in the zip costs no extraction.
            var fileEntries = 0;
            foreach (var entry in zip.Entries)
            {
                CheckEntry(entry);
                if (!IsDirectory(entry) && ++fileEntries > _store.MaxFiles)
                {
                    throw Refuse(StatusCode.ResourceExhausted, $"the zip has more than UserCode:Deploy:MaxFiles ({_store.MaxFiles}) files; ship fewer files or raise the limit");
                }
            }

            long expanded = 0;
            var root = Path.GetFullPath(files) + Path.DirectorySeparatorChar;
            foreach (var entry in zip.Entries)
            {
                var target = Path.GetFullPath(Path.Combine(files, entry.FullName.Replace('\\', '/')));
                if (!target.StartsWith(root, StringComparison.Ordinal) && target + Path.DirectorySeparatorChar != root)
                {
                    throw Refuse(StatusCode.InvalidArgument, $"zip entry '{entry.FullName}' would be written outside the version's folder; use relative paths inside the folder");
                }

                if (IsDirectory(entry))
                {
                    Directory.CreateDirectory(target, VersionStore.FolderMode);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!, VersionStore.FolderMode);
                expanded = Inflate(entry, target, expanded);
            }

            return (fileEntries, expanded);
        }
    }

    /// <summary>Writes one entry, counting the bytes as they inflate: a bomb stops at the limit, whatever its header claims.</summary>
    private long Inflate(ZipArchiveEntry entry, string target, long expanded)
    {
        var buffer = new byte[81920];
        using var source = entry.Open();
        using var output = Create(target);
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            expanded += read;
            if (expanded > _store.MaxBytes)
            {
                throw Refuse(StatusCode.ResourceExhausted, $"the zip expands to more than UserCode:Deploy:MaxBytes ({_store.MaxBytes} bytes) (stopped at entry '{entry.FullName}'); ship less or raise the limit");
            }

            output.Write(buffer, 0, read);
        }

        return expanded;
    }

    private void CheckEntry(ZipArchiveEntry entry)
    {
        var name = entry.FullName;
        if (string.IsNullOrWhiteSpace(name) || name.Replace('\\', '/').Trim('/').Length == 0)
        {
            throw Refuse(StatusCode.InvalidArgument, "the zip has an entry with an empty name; rebuild the zip from the user-code folder");
        }

        var path = name.Replace('\\', '/');
        if (path.StartsWith('/') || (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0])))
        {
            throw Refuse(StatusCode.InvalidArgument, $"zip entry '{name}' has an absolute path; entries must be relative to the user-code folder");
        }

        if (path.Split('/').Any(segment => segment == ".."))
        {
            throw Refuse(StatusCode.InvalidArgument, $"zip entry '{name}' contains '..'; entries must stay inside the user-code folder");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw Refuse(StatusCode.InvalidArgument, $"zip entry '{name.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL character");
        }

        // The high 16 bits of a Unix-made entry's external attributes are its st_mode.
        var type = (entry.ExternalAttributes >> 16) & 0xF000;
        if (type == 0xA000)
        {
            throw Refuse(StatusCode.InvalidArgument, $"zip entry '{name}' is a symbolic link; zip the files themselves (zip -r without -y)");
        }
    }

    private static bool IsDirectory(ZipArchiveEntry entry) =>
        entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\') || ((entry.ExternalAttributes >> 16) & 0xF000) == 0x4000;

    private static FileStream Create(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        UnixCreateMode = VersionStore.FileMode,
    });

    private DeployException Refuse(StatusCode status, string reason)
    {
        Log.UploadRefused(_logger, status.ToString(), reason);
        return new DeployException(status, reason);
    }

    public void Dispose()
    {
        _package.Dispose();
        _hash.Dispose();
        if (Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }

    }
}

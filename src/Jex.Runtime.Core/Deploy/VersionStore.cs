using Jex.Runtime.Configuration;

namespace Jex.Runtime.Deploy;

/// <summary>
/// The folder uploaded versions live in (UserCode:CodeDir): one subfolder per version, owner-only.
/// An upload is written to a temporary folder inside it and renamed to its version's folder only
/// once it is complete and checked, so a refused upload leaves nothing behind.
/// </summary>
internal sealed class VersionStore : IDisposable
{
    /// <summary>The largest chunk of an Upload stream.</summary>
    public const int MaxChunkBytes = 1 << 20;

    internal const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    internal const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly bool _removeAtExit;
    private readonly ILogger _logger;
    private int _removed;

    public VersionStore(string root, bool removeAtExit, int maxBytes, int maxFiles, ILogger logger)
    {
        Root = Path.GetFullPath(root);
        _removeAtExit = removeAtExit;
        MaxBytes = maxBytes;
        MaxFiles = maxFiles;
        _logger = logger;
        Directory.CreateDirectory(Root, FolderMode);
    }

    /// <summary>
    /// The store for these options: UserCode:CodeDir when set (kept at exit), else a new private
    /// folder under $XDG_RUNTIME_DIR (per user, 0700 by definition) or the temp folder, removed at exit.
    /// </summary>
    public static VersionStore Create(UserCodeOptions options, ILogger logger)
    {
        if (!string.IsNullOrWhiteSpace(options.CodeDir))
        {
            return new VersionStore(options.CodeDir, removeAtExit: false, options.Deploy.MaxBytes, options.Deploy.MaxFiles, logger);
        }

        string root;
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && Directory.Exists(xdg))
        {
            root = Path.Combine(xdg, $"jex-code-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32]);
        }
        else
        {
            // Created with a fresh random name and mode 0700, so nobody can have prepared it.
            root = Directory.CreateTempSubdirectory($"jex-code-{Environment.ProcessId}-").FullName;
        }

        return new VersionStore(root, removeAtExit: true, options.Deploy.MaxBytes, options.Deploy.MaxFiles, logger);
    }

    public string Root { get; }

    public int MaxBytes { get; }

    public int MaxFiles { get; }

    /// <summary>Starts receiving one package; dispose it, completed or not.</summary>
    public PackageUpload BeginUpload()
    {
        var temp = Path.Combine(Root, ".upload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp, FolderMode);
        return new PackageUpload(this, temp, _logger);
    }

    /// <summary>Moves a checked upload's files into the version's folder.</summary>
    internal string Commit(string files, string id)
    {
        var target = Path.Combine(Root, id);
        if (Directory.Exists(target))
        {
            // Left by an earlier runtime on the same UserCode:CodeDir: versions do not outlive a runtime.
            Directory.Delete(target, recursive: true);
        }

        Directory.Move(files, target);
        return target;
    }

    /// <summary>Deletes a removed version's folder.</summary>
    public void Delete(CodeVersion version)
    {
        if (version.Removable && Directory.Exists(version.Directory) && IsInside(version.Directory))
        {
            Directory.Delete(version.Directory, recursive: true);
        }
    }

    private bool IsInside(string path) =>
        Path.GetFullPath(path).StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Removes the folder when the runtime made it (a configured UserCode:CodeDir stays).</summary>
    public void Dispose()
    {
        if (_removeAtExit && Interlocked.Exchange(ref _removed, 1) == 0 && Directory.Exists(Root))
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort at exit; the folder is private to this user.
            }
        }
    }
}

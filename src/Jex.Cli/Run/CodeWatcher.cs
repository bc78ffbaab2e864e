using System.Threading.Channels;

namespace Jex.Cli.Run;

/// <summary>
/// Watches user code for <c>jex run --watch</c>: a build output folder, one .dll, or a project's
/// sources (its bin/ and obj/ and hidden folders left out). <see cref="WaitForChangeAsync"/>
/// returns once files changed and then nothing changed for the quiet period, so a copy or a build
/// that writes many files becomes one deploy.
/// </summary>
internal sealed class CodeWatcher : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly Func<string, bool> _include;
    private readonly TimeSpan _quiet;
    private readonly TimeProvider _time;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _changes;

    /// <param name="root">The folder to watch, with its subfolders.</param>
    /// <param name="include">Whether a changed full path counts.</param>
    /// <param name="quiet">How long nothing must change before a change counts as finished.</param>
    /// <param name="time">The clock the quiet period is measured on; the system's unless a test moves its own.</param>
    public CodeWatcher(string root, Func<string, bool> include, TimeSpan quiet, TimeProvider? time = null)
    {
        _include = include;
        _quiet = quiet;
        _time = time ?? TimeProvider.System;
        _watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, e) => Note(e.FullPath);
        _watcher.Created += (_, e) => Note(e.FullPath);
        _watcher.Deleted += (_, e) => Note(e.FullPath);
        _watcher.Renamed += (_, e) =>
        {
            Note(e.OldFullPath);
            Note(e.FullPath);
        };
        // A lost event (the kernel's queue overflowed) may have been a change: count one.
        _watcher.Error += (_, _) => Note(null);
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Changes seen so far (tests).</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>What <c>jex run --watch</c> watches for a job's user code, and which paths count.</summary>
    /// <param name="userCode">The job's user code as written: a folder, a .dll or a .csproj.</param>
    public static (string Root, Func<string, bool> Include) For(string userCode)
    {
        var full = Path.GetFullPath(userCode);
        if (Directory.Exists(full))
        {
            return (full, static _ => true);
        }

        var folder = Path.GetDirectoryName(full) ?? "/";
        if (!full.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return (folder, path => string.Equals(path, full, StringComparison.Ordinal));
        }

        // A project's sources: everything beside it but what builds write and tools keep.
        return (folder, path =>
        {
            var relative = Path.GetRelativePath(folder, path);
            return !relative.Split(Path.DirectorySeparatorChar).Any(static part => part is "bin" or "obj" || part.StartsWith('.'));
        });
    }

    /// <summary>Returns once something changed and then stayed unchanged for the quiet period.</summary>
    public async Task WaitForChangeAsync(CancellationToken cancellationToken)
    {
        await _signal.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var before = Changes;
            await Task.Delay(_quiet, _time, cancellationToken).ConfigureAwait(false);
            if (Changes == before)
            {
                break;
            }
        }

        // Whatever was signalled during the quiet period is part of this change.
        _signal.Reader.TryRead(out _);
    }

    public void Dispose() => _watcher.Dispose();

    private void Note(string? path)
    {
        if (path is not null && !_include(path))
        {
            return;
        }

        Interlocked.Increment(ref _changes);
        _signal.Writer.TryWrite(true);
    }
}

using Jex.Cli.Run;

namespace Jex.Cli.Tests.Run;

/// <summary>jex run --watch's watcher: a burst of writes is one change, once quiet; build output and hidden folders of a project do not count.</summary>
public sealed class CodeWatcherTests : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly string _root = Directory.CreateTempSubdirectory("jex-watch-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relative, string content = "x")
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task WaitForChange_WhenFilesKeepChanging_ReturnsOnlyOnceTheyWereQuietForThePeriod()
    {
        Write("code/A.dll");
        var (root, include) = CodeWatcher.For(Path.Combine(_root, "code"));
        using var watcher = new CodeWatcher(root, include, Quiet);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var change = watcher.WaitForChangeAsync(CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            Write("code/A.dll", "v" + i);
            await Task.Delay(100);
        }

        var lastWrite = clock.Elapsed;
        await change.WaitAsync(Timeout);

        Assert.True(clock.Elapsed - lastWrite >= Quiet - TimeSpan.FromMilliseconds(20), $"returned {(clock.Elapsed - lastWrite).TotalMilliseconds} ms after the last write");
        // The burst was one change: nothing is pending now.
        var next = watcher.WaitForChangeAsync(CancellationToken.None);
        await Task.Delay(Quiet * 2);
        Assert.False(next.IsCompleted);
    }

    [Fact]
    public async Task WaitForChange_ForAProject_IgnoresBinObjAndHiddenFolders_ButNotSources()
    {
        var project = Write("proj/Acme.Fn.csproj", "<Project />");
        Write("proj/obj/jex/bin/Acme.Fn.dll");
        Write("proj/.git/HEAD");
        var (root, include) = CodeWatcher.For(project);
        using var watcher = new CodeWatcher(root, include, Quiet);

        var change = watcher.WaitForChangeAsync(CancellationToken.None);
        Write("proj/obj/jex/bin/Acme.Fn.dll", "rebuilt");
        Write("proj/bin/Release/x.dll", "built");
        Write("proj/.git/HEAD", "moved");
        await Task.Delay(Quiet * 2);
        Assert.False(change.IsCompleted);
        Assert.Equal(0, watcher.Changes);

        Write("proj/Functions.cs", "class C {}");
        await change.WaitAsync(Timeout);
        Assert.True(watcher.Changes > 0);
    }

    [Fact]
    public async Task WaitForChange_ForADll_CountsOnlyThatFile()
    {
        var dll = Write("lib/Acme.Fn.dll");
        var (root, include) = CodeWatcher.For(dll);
        using var watcher = new CodeWatcher(root, include, Quiet);

        var change = watcher.WaitForChangeAsync(CancellationToken.None);
        Write("lib/Other.dll");
        await Task.Delay(Quiet * 2);
        Assert.False(change.IsCompleted);

        Write("lib/Acme.Fn.dll", "new");
        await change.WaitAsync(Timeout);
    }
}

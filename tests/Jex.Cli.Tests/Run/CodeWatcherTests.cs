using Jex.Cli.Run;
using Microsoft.Extensions.Time.Testing;

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
        // The quiet period runs on a clock the test moves, so a slow machine cannot stretch the
        // gaps between writes past it; only the file events themselves are real.
        var time = new FakeTimeProvider();
        Write("code/A.dll");
        var (root, include) = CodeWatcher.For(Path.Combine(_root, "code"));
        using var watcher = new CodeWatcher(root, include, Quiet, time);

        var change = watcher.WaitForChangeAsync(CancellationToken.None);
        var step = Quiet / 3;
        for (var i = 0; i < 5; i++)
        {
            await WriteAndSeeAsync(watcher, "code/A.dll", "v" + i);
            time.Advance(step);
            await Task.Delay(50);
            Assert.False(change.IsCompleted, $"returned during the burst, {step.TotalMilliseconds} ms after write {i}");
        }

        // Two thirds of the quiet period after the last write: still waiting.
        time.Advance(step);
        await Task.Delay(50);
        Assert.False(change.IsCompleted, $"returned {(2 * step).TotalMilliseconds} ms after the last write, before the quiet period of {Quiet.TotalMilliseconds} ms");

        // Once the clock has moved on far enough, it returns.
        for (var i = 0; i < 10 && !change.IsCompleted; i++)
        {
            time.Advance(Quiet);
            await Task.WhenAny(change, Task.Delay(500));
        }

        await change.WaitAsync(Timeout);

        // The burst was one change: nothing is pending now.
        var next = watcher.WaitForChangeAsync(CancellationToken.None);
        time.Advance(Quiet * 2);
        await Task.Delay(200);
        Assert.False(next.IsCompleted);
    }

    /// <summary>Writes a file and waits until the watcher has seen it and its events have stopped coming.</summary>
    private async Task WriteAndSeeAsync(CodeWatcher watcher, string relative, string content)
    {
        var before = watcher.Changes;
        Write(relative, content);
        var deadline = DateTime.UtcNow + Timeout;
        while (watcher.Changes == before)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no file event for {relative} within {Timeout.TotalSeconds} s");
            await Task.Delay(10);
        }

        long seen;
        do
        {
            seen = watcher.Changes;
            await Task.Delay(100);
        }
        while (watcher.Changes != seen);
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

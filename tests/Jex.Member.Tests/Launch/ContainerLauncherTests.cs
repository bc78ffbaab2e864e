using System.Diagnostics;
using Jex.Member.Launch;
using Jex.Protocol.Contract;

namespace Jex.Member.Tests.Launch;

// ContainerLauncher's control flow against a stand-in CLI: a shell script that answers `run`,
// `port`, `stop` and `kill` as docker does and records every call. It isolates the launcher from an
// engine; tests/containers/run.sh runs the same launcher against real podman and a real image.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // a POSIX shell script plays the CLI
public sealed class ContainerLauncherTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("jex-fake-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CallLog => Path.Combine(_dir, "calls.log");

    // runBody: what `run` does after recording its arguments and the token it received.
    private string WriteFakeCli(string runBody)
    {
        var script = Path.Combine(_dir, "fake-docker");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            d='{{_dir}}'
            echo "$*" >> "$d/calls.log"
            case "$1" in
              run)
                echo "token-env=$UserCode__Token" >> "$d/calls.log"
                for a in "$@"; do
                  case "$a" in
                    *:/run/jex/token:ro) f=${a%:/run/jex/token:ro}; echo "token-file=$f" >> "$d/calls.log"; echo "token=$(cat "$f")" >> "$d/calls.log"; echo "token-mode=$(stat -c %a "$f")" >> "$d/calls.log" ;;
                  esac
                done
            {{runBody}}
                ;;
              port) echo "127.0.0.1:45123" ;;
              stop) echo "stop-grace=$3" >> "$d/calls.log"; touch "$d/stopped" ;;
              kill) touch "$d/stopped" ;;
            esac
            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    // A container that announces itself, then lives until stop/kill; exit 143 as after SIGTERM.
    private const string ServingRun = """
                echo "info: starting"
                echo 'JEX-READY {"transport":"grpc","address":"http://0.0.0.0:5252","pid":1,"version":"9.9","functions":["doThingDotnet"]}'
                while [ ! -f "$d/stopped" ]; do sleep 0.05; done
                exit 143
        """;

    private ContainerLauncher Launcher(string cli) =>
        new(new ContainerLauncherOptions { Image = "localhost/jex-runtime:test", Cli = cli, CliTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task StartAsync_WhenContainerPrintsReadyLine_ReturnsTheHostAddressAndPassesTokenAsAPrivateFileMount()
    {
        var launcher = Launcher(WriteFakeCli(ServingRun));

        await using var instance = await launcher.StartAsync(new RuntimeLaunchOptions("tok-123", TransportKind.Grpc, _dir), CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("http://127.0.0.1:45123", instance.Ready.Address);
        Assert.Equal(["doThingDotnet"], instance.Ready.Functions);
        Assert.Contains("info: starting", instance.RecentOutput);
        var calls = await File.ReadAllLinesAsync(CallLog).WaitAsync(Timeout);
        Assert.Contains("token=tok-123", calls);
        Assert.Contains("token-env=", calls);
        Assert.Contains("token-mode=400", calls);
        Assert.StartsWith("run --rm --name jex-runtime-", calls[0], StringComparison.Ordinal);
        Assert.DoesNotContain("tok-123", calls[0], StringComparison.Ordinal);
        Assert.Contains("--UserCode:TokenFile=/run/jex/token", calls[0], StringComparison.Ordinal);
        Assert.Contains(calls, c => c.StartsWith("port jex-runtime-", StringComparison.Ordinal) && c.EndsWith(" 5252/tcp", StringComparison.Ordinal));
        Assert.False(instance.Exited.IsCompleted);
        var tokenFile = Assert.Single(calls, c => c.StartsWith("token-file=", StringComparison.Ordinal))["token-file=".Length..];
        var tokenDir = Path.GetDirectoryName(tokenFile)!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(tokenDir));

        // The file lives as long as the container: gone once it stopped.
        await instance.StopAsync(TimeSpan.FromSeconds(1), CancellationToken.None).WaitAsync(Timeout);
        Assert.False(Directory.Exists(tokenDir), $"{tokenDir} outlived the container");
    }

    [Fact]
    public async Task StopAsync_StopsTheContainerThroughTheEngineWithTheGraceInSeconds()
    {
        var launcher = Launcher(WriteFakeCli(ServingRun));
        await using var instance = await launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), CancellationToken.None).WaitAsync(Timeout);

        await instance.StopAsync(TimeSpan.FromMilliseconds(2500), CancellationToken.None).WaitAsync(Timeout);

        Assert.True(instance.Exited.IsCompleted);
        var calls = await File.ReadAllLinesAsync(CallLog).WaitAsync(Timeout);
        var name = calls[0].Split(' ')[3];
        Assert.Contains($"stop -t 3 {name}", calls);
        Assert.DoesNotContain(calls, c => c.StartsWith("kill ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Kill_KillsTheContainerThroughTheEngine_AndExitedCompletes()
    {
        var launcher = Launcher(WriteFakeCli(ServingRun));
        await using var instance = await launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), CancellationToken.None).WaitAsync(Timeout);

        instance.Kill();

        await instance.Exited.WaitAsync(Timeout);
        var calls = await File.ReadAllLinesAsync(CallLog).WaitAsync(Timeout);
        Assert.Contains(calls, c => c.StartsWith("kill jex-runtime-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_WhenEngineFailsBeforeTheRuntimeRuns_ThrowsWithTheEnginesErrorAndExitCode()
    {
        var launcher = Launcher(WriteFakeCli("""
                echo 'Error: localhost/jex-runtime:test: image not known' >&2
                exit 125
        """));

        var ex = await Assert.ThrowsAsync<RuntimeStartException>(
            () => launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, ""), CancellationToken.None).WaitAsync(Timeout));

        Assert.Contains("exited with code 125", ex.Message, StringComparison.Ordinal);
        Assert.Contains("image not known", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_WhenNoReadyLineInTime_ThrowsAndRemovesTheContainer()
    {
        var launcher = Launcher(WriteFakeCli("""
                echo "still loading"
                while [ ! -f "$d/stopped" ]; do sleep 0.05; done
                exit 137
        """));
        var started = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<RuntimeStartException>(
            () => launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.Grpc, "", ReadyTimeout: TimeSpan.FromSeconds(5)), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        // 5 s, not less: the fake engine's start and first line must come in before the timeout, even on a busy machine.
        Assert.Contains("no ready line within 5 s", ex.Message, StringComparison.Ordinal);
        Assert.Contains("still loading", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "stopped")), "the container was not killed");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(40), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task StartAsync_ForSharedMemory_ThrowsBeforeStartingAnything()
    {
        var launcher = Launcher(WriteFakeCli(ServingRun));

        await Assert.ThrowsAsync<RuntimeStartException>(
            () => launcher.StartAsync(new RuntimeLaunchOptions("t", TransportKind.SharedMemory, "", Uid: "u"), CancellationToken.None).WaitAsync(Timeout));

        Assert.False(File.Exists(CallLog));
    }

    [Fact]
    public async Task ResolveAsync_WhenConfiguredCliIsMissing_ThrowsNamingIt()
    {
        var ex = await Assert.ThrowsAsync<RuntimeStartException>(
            () => ContainerCli.ResolveAsync("no-such-container-cli-xyz", CancellationToken.None).WaitAsync(Timeout));

        Assert.Contains("no-such-container-cli-xyz", ex.Message, StringComparison.Ordinal);
    }
}

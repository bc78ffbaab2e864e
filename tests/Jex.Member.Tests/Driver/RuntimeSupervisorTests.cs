using System.Collections.Concurrent;
using Grpc.Core;
using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging;

namespace Jex.Member.Tests.Driver;

/// <summary>
/// The supervisor's restart decisions, against the in-memory <see cref="FakeRuntime"/> and, where
/// the launcher's own verdict matters, the real process and passthru launchers.
/// </summary>
public sealed class RuntimeSupervisorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ListLogger _log = new();

    private static DriverOptions Options() => new()
    {
        Session = new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo" },
        LaunchOptions = () => new RuntimeLaunchOptions("token", TransportKind.Grpc, "/code"),
        Restart = new RestartPolicy { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
    };

    private (RuntimeSupervisor Supervisor, DriverStats Stats) Supervisor(IRuntimeLauncher launcher, ISessionConnector connector)
    {
        var options = Options();
        var ledger = new BatchLedger(preserveOrder: true);
        var stats = new DriverStats();
        var logs = new RuntimeLogForwarder(_log, ledger, "job", "stage");
        return (new RuntimeSupervisor(launcher, connector, options, ledger, stats, logs, _log), stats);
    }

    // A session that loses its runtime: the runtime exits with a code and last words, the stream breaks.
    private static Func<IRuntimeInstance, ISessionChannel, CancellationToken, Task> Crash(FakeRuntime runtime, int code, string lastLine) =>
        (_, _, _) =>
        {
            runtime.Current!.ExitWith(code, "[10:00:00 INF] serving", lastLine);
            throw new SessionEndedException(StatusCode.Unavailable, "Unavailable: the stream broke");
        };

    private static readonly Func<IRuntimeInstance, ISessionChannel, CancellationToken, Task> Completes = (_, _, _) => Task.CompletedTask;

    [Fact]
    public async Task RunAsync_WhenEveryReadyRuntimeDiesWithoutProgress_OpensTheCircuitQuotingTheExitCodeAndTheOutputTail()
    {
        var runtime = new FakeRuntime(_ => null);
        var (supervisor, stats) = Supervisor(runtime, runtime);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => supervisor.RunAsync(Crash(runtime, 139, "[10:00:01 FTL] boom: segfault in user code"), CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal((5, 4L), (runtime.Starts, stats.Restarts));
        Assert.Equal(4, _log.Count(300));
        Assert.StartsWith("the runtime failed 5 times in a row without progress (crash loop, giving up); last error: Unavailable: the stream broke (fake runtime 5 exited with code 139: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[10:00:01 FTL] boom: segfault in user code", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.ExitCode);
    }

    [Fact]
    public async Task RunAsync_WhenAReadyRuntimeExitsTwoOrThreeLater_IsStillRestarted()
    {
        // Exit codes 2 and 3 are final only before the ready line; a runtime that served and then
        // died is lost like any other.
        var runtime = new FakeRuntime(_ => null);
        var (supervisor, stats) = Supervisor(runtime, runtime);
        var sessions = 0;

        await supervisor.RunAsync((instance, channel, ct) => ++sessions < 3 ? Crash(runtime, 2, "jex-runtime: configuration error")(instance, channel, ct) : Task.CompletedTask, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal((3, 2L), (runtime.Starts, stats.Restarts));
        Assert.Contains("exited with code 2: [10:00:00 INF] serving | jex-runtime: configuration error", _log.Messages(300).First(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_WhenTheLauncherReportsAFinalFailure_EndsAtOnceWithItsLineAndCodeAndNoRestart(int code)
    {
        const string Line = "runtime refused to start (configuration error, exit code 2; not restarting): jex-runtime: UserCode:Path '/nope' does not exist";
        var runtime = new FakeRuntime(_ => null) { StartFailure = _ => new RuntimeStartException(Line) { IsFinal = true, ExitCode = code } };
        var (supervisor, stats) = Supervisor(runtime, runtime);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => supervisor.RunAsync(Completes, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal((1, 0L, code, Line), (runtime.Starts, stats.Restarts, ex.ExitCode, ex.Message));
        Assert.Equal(0, _log.Count(300));
    }

    [Fact]
    public async Task RunAsync_WhenTheRuntimeExecutableDoesNotExist_EndsAtOnceNamingThePathAndWhatToDo()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"jex-no-runtime-{Guid.NewGuid():N}", "jex-runtime");
        var connector = new FakeRuntime(_ => null);
        var (supervisor, stats) = Supervisor(new ProcessLauncher(missing), connector);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => supervisor.RunAsync(Completes, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal($"runtime executable not found: {missing} (run ./demo.sh build, or fix the job's runtime.service executable)", ex.Message);
        Assert.Equal(0L, stats.Restarts);
        Assert.Equal(0, _log.Count(300));
    }

    [Fact]
    public async Task RunAsync_WhenNothingAnswersAtThePassthruAddressAtTheFirstStart_EndsAtOnceNamingTheAddress()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var connector = new FakeRuntime(_ => null);
        var (supervisor, stats) = Supervisor(new PassthruLauncher($"http://127.0.0.1:{port}"), connector);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => supervisor.RunAsync(Completes, CancellationToken.None).WaitAsync(Timeout));

        Assert.StartsWith($"no runtime at http://127.0.0.1:{port}: connection refused; start one with `jex-runtime --UserCode:Grpc:Port={port} ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0L, stats.Restarts);
        Assert.Equal(0, _log.Count(300));
        // Far below the 30 s ready timeout a supervisor that waited for the address would spend.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task RunAsync_WhenAPassthruRuntimeThatServedBecomesUnreachable_RetriesWithBackoffUntilItIsBack()
    {
        // Start 1 serves and dies; starts 2 and 3 find nothing at the address (its operator is
        // restarting it); start 4 finds it again and the job completes.
        var runtime = new FakeRuntime(_ => null)
        {
            StartFailure = n => n is 2 or 3 ? new RuntimeStartException("no runtime at http://127.0.0.1:5252: connection refused") { IsUnreachable = true } : null,
        };
        var (supervisor, stats) = Supervisor(runtime, runtime);
        var sessions = 0;

        await supervisor.RunAsync((instance, channel, ct) => ++sessions == 1 ? Crash(runtime, 137, "killed")(instance, channel, ct) : Task.CompletedTask, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal((4, 3L, 2), (runtime.Starts, stats.Restarts, sessions));
        Assert.Equal(2, _log.Messages(300).Count(m => m.Contains("no runtime at http://127.0.0.1:5252: connection refused", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RunAsync_WhenAPassthruRuntimeThatServedNeverComesBack_OpensTheCircuitNamingTheAddress()
    {
        var runtime = new FakeRuntime(_ => null)
        {
            StartFailure = n => n > 1 ? new RuntimeStartException("no runtime at http://127.0.0.1:5252: connection refused") { IsUnreachable = true } : null,
        };
        var (supervisor, _) = Supervisor(runtime, runtime);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => supervisor.RunAsync(Crash(runtime, 137, "killed"), CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(5, runtime.Starts);
        Assert.Contains("crash loop, giving up); last error: no runtime at http://127.0.0.1:5252: connection refused", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WhenTheSessionCompletes_StopsTheRuntimeAndReportsTheFirstReady()
    {
        var runtime = new FakeRuntime(_ => null);
        var (supervisor, stats) = Supervisor(runtime, runtime);

        await supervisor.RunAsync(Completes, CancellationToken.None).WaitAsync(Timeout);

        Assert.True(supervisor.FirstReady.IsCompletedSuccessfully);
        Assert.Equal("echo", supervisor.LastReady?.Signature?.Name);
        Assert.True(runtime.Current!.Exited.IsCompleted, "the runtime was not stopped");
        Assert.Equal((1, 0L, 1001), (runtime.Starts, stats.Restarts, stats.RuntimePid));
    }

    /// <summary>Keeps every record with its event id, to assert what was (not) logged.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<(int EventId, string Message)> _records = new();

        public int Count(int eventId) => _records.Count(r => r.EventId == eventId);

        public IEnumerable<string> Messages(int eventId) => _records.Where(r => r.EventId == eventId).Select(r => r.Message);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _records.Enqueue((eventId.Id, formatter(state, exception)));
    }
}

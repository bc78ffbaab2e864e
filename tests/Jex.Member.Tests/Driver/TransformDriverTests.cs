using System.Diagnostics;
using Grpc.Core;
using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Member.Tests.Driver;

public sealed class TransformDriverTests
{
    private static DriverOptions Options(bool preserveOrder = true, int inFlight = 4, int batchItems = 50) => new()
    {
        Session = new SessionSettings { JobId = "j", JobName = "job", StageName = "stage", Function = "echo" },
        LaunchOptions = () => new RuntimeLaunchOptions("token", TransportKind.Grpc, "/code"),
        MaxBatchItems = batchItems,
        MaxInFlight = inFlight,
        PreserveOrder = preserveOrder,
        Restart = new RestartPolicy { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
    };

    [Fact]
    public async Task RunAsync_WhenTheRuntimeDiesTwice_ReplaysAndTheSinkGetsEveryResultOnceInOrder()
    {
        var runtime = new FakeRuntime(n => n switch { 1 => 30, 2 => 70, _ => null });
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(10_000), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, runtime.Starts);
        Assert.Equal(2, driver.Stats.Restarts);
        Assert.True(driver.Stats.Replayed > 0);
        Assert.Equal((10_000L, 10_000L, 0L), (driver.Stats.In, driver.Stats.Out, driver.Stats.Errors));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), sink.Sequences);
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => ($"key-{i}", $"key-{i}!")), sink.Puts);
    }

    [Fact]
    public async Task RunAsync_WhenOrderIsNotPreserved_StillDeliversEveryResultExactlyOnce()
    {
        var runtime = new FakeRuntime(n => n == 1 ? 25 : null, maxDelayMs: 5);
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(preserveOrder: false, inFlight: 8), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(5_000), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => $"key-{i}").Order(), sink.Puts.Select(p => p.Key).Order());
        Assert.Equal(1, driver.Stats.Restarts);
    }

    [Fact]
    public async Task RunAsync_WhenTheRuntimeCrashesAtEveryStart_FailsFastWithItsLastError()
    {
        var runtime = new FakeRuntime(_ => null)
        {
            StartFailure = n => new RuntimeStartException($"runtime exited with code 1 before it was ready: Unhandled exception #{n}: UserCode:Path not found"),
        };
        var driver = new TransformDriver(runtime, runtime, Options(), NullLogger.Instance);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => driver.RunAsync(FakeRuntime.Source(10), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(5, runtime.Starts);
        Assert.Contains("failed 5 times in a row without progress", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Unhandled exception #5: UserCode:Path not found", ex.Message, StringComparison.Ordinal);
        // Five starts with 10-50 ms backoffs; the bound is loose because only a hang or endless retry is the bug.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task RunAsync_WhenTheRuntimeRefusesTheSessionPermanently_FailsWithoutRestarting()
    {
        var runtime = new FakeRuntime(_ => null)
        {
            InitFailure = _ => new SessionEndedException(StatusCode.PermissionDenied, "PermissionDenied: wrong token"),
        };
        var driver = new TransformDriver(runtime, runtime, Options(), NullLogger.Instance);

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => driver.RunAsync(FakeRuntime.Source(10), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(1, runtime.Starts);
        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<SessionEndedException>(ex.InnerException).StatusCode);
        Assert.Contains("wrong token", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WhenTheFirstConnectionToALiveRuntimeDrops_RetriesTheSessionWithoutARestart()
    {
        var inits = 0;
        var runtime = new FakeRuntime(_ => null)
        {
            InitFailure = _ => ++inits == 1 ? new SessionEndedException(StatusCode.Internal, "Internal: The HTTP/2 server closed the connection.") : null,
        };
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(100), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((1, 0L, 2), (runtime.Starts, driver.Stats.Restarts, inits));
        Assert.Equal(100, sink.Puts.Count);
    }

    [Fact]
    public async Task RunAsync_WhenProgressIsMadeBetweenCrashes_DoesNotOpenTheCircuit()
    {
        // Dies after 3 batches at every start, but each life resolves a few: not a crash loop.
        var runtime = new FakeRuntime(_ => 3, maxDelayMs: 0);
        var sink = new CollectingSink();
        var options = Options(inFlight: 1, batchItems: 10);
        var driver = new TransformDriver(runtime, runtime, options, NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(100), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(100, sink.Puts.Count);
        Assert.True(driver.Stats.Restarts >= 4, driver.Stats.Restarts.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_WhenTheRuntimeStopsOnItsOwnMidJob_RestartsAndReplaysEveryUnansweredBatchOnce(bool withoutDrained)
    {
        // Start 1 stops like a SIGTERMed runtime after 20 batches (unasked Drained, or a stream
        // that just ends); start 2 does it again after 15; start 3 finishes the job.
        var runtime = new FakeRuntime(_ => null)
        {
            StopOnItsOwnAfter = n => n switch { 1 => 20, 2 => 15, _ => null },
            StopWithoutDrained = withoutDrained,
        };
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(batchItems: 10), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(1_000), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((3, 2L), (runtime.Starts, driver.Stats.Restarts));
        Assert.True(driver.Stats.Replayed > 0, "batches sent to the stopping runtime were not replayed");
        Assert.Equal((1_000L, 1_000L, 0L), (driver.Stats.In, driver.Stats.Out, driver.Stats.Errors));
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => ($"key-{i}", $"key-{i}!")), sink.Puts);
    }

    [Fact]
    public async Task RunAsync_WhenAStoppingRuntimeRefusesBatchesAfterDrain_ReplaysThemOnTheNextRuntime()
    {
        // jex-runtime answers a batch that arrives once its own drain began with BATCH_AFTER_DRAIN:
        // the runtime is going away, so the batch goes to the next one, and the job still completes.
        var runtime = new FakeRuntime(_ => null)
        {
            StopOnItsOwnAfter = n => n == 1 ? 20 : null,
            RefuseWhileStopping = true,
        };
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(batchItems: 10), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(1_000), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((2, 1L), (runtime.Starts, driver.Stats.Restarts));
        Assert.Equal((1_000L, 1_000L, 0L), (driver.Stats.In, driver.Stats.Out, driver.Stats.Errors));
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => ($"key-{i}", $"key-{i}!")), sink.Puts);
    }

    [Fact]
    public async Task RunAsync_WhenTheRuntimeStopsOnItsOwnAfterTheLastResult_StillEndsNormally()
    {
        // 10 items, 1 batch: the runtime answers it, then drains unasked while the source is done.
        var runtime = new FakeRuntime(_ => null) { StopOnItsOwnAfter = n => n == 1 ? 1 : null };
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(batchItems: 100), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(10), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(10, sink.Puts.Count);
        Assert.Equal(10L, driver.Stats.Out);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_WhenTheRuntimeExitsWithAFinalCode_FailsAtOnceWithItsLineAndCode(int code)
    {
        var runtime = new FakeRuntime(_ => null)
        {
            StartFailure = _ => new RuntimeStartException($"runtime refused to start (exit code {code}): jex-runtime: configuration error: UserCode:Path '/nope' does not exist")
            {
                IsFinal = true,
                ExitCode = code,
            },
        };
        var driver = new TransformDriver(runtime, runtime, Options(), NullLogger.Instance);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<JobFailedException>(() => driver.RunAsync(FakeRuntime.Source(10), new CollectingSink(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal((1, 0L, code), (runtime.Starts, driver.Stats.Restarts, ex.ExitCode));
        Assert.Contains("UserCode:Path '/nope' does not exist", ex.Message, StringComparison.Ordinal);
        // One start and no backoff (Starts and Restarts above say so); the bound only catches a hang.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task RunAsync_WhenASendBlocksItsThreadAndTheRuntimeDies_StillSeesTheExitAndRestarts()
    {
        var runtime = new FakeRuntime(_ => null) { DieWithBlockingSendsAfter = n => n == 1 ? 5 : null };
        var sink = new CollectingSink();
        var driver = new TransformDriver(runtime, runtime, Options(batchItems: 10), NullLogger.Instance);

        await driver.RunAsync(FakeRuntime.Source(500), sink, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((2, 1L), (runtime.Starts, driver.Stats.Restarts));
        Assert.Equal(Enumerable.Range(0, 500).Select(i => ($"key-{i}", $"key-{i}!")), sink.Puts);
    }
}

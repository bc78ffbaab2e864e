using System.Reflection;
using Jex.Transport.SharedMemory;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("Jex.FunctionalTests.SharedMemory.NoLeftoversTestFramework", "Jex.FunctionalTests")]

namespace Jex.FunctionalTests.SharedMemory;

/// <summary>
/// Names every shared-memory channel the suite creates from one per-run prefix, so that at the end of
/// the run anything left under that prefix (mapped file or FIFO) is known to be ours.
/// </summary>
internal static class ShmLeftovers
{
    private static readonly System.Collections.Concurrent.ConcurrentBag<Task> Watchers = [];
    private static int _next;

    /// <summary>
    /// The test host is the member that started the runtime, so it is the survivor that removes the files
    /// of a runtime that died without cleaning up (RuntimeProcess.DisposeAsync SIGKILLs a runtime still
    /// running at the end of a test, and a killed process cannot clean up). It waits 2 s after the death
    /// first, so tests that assert a graceful exit removed the files are not masked.
    /// </summary>
    public static async Task<Infrastructure.RuntimeProcess> RemoveFilesWhenDead(Task<Infrastructure.RuntimeProcess> starting)
    {
        var runtime = await starting;
        var (pid, path) = (runtime.Pid, runtime.Address);
        Watchers.Add(Task.Run(async () =>
        {
            while (LibC.IsProcessAlive(pid))
            {
                await Task.Delay(100);
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
            SharedMemoryChannel.RemoveFiles(path);
        }));
        return runtime;
    }

    /// <summary>Unique to this test run: the process id plus a random suffix.</summary>
    public static string RunPrefix { get; } = $"ft{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    public static string NewUid() => $"{RunPrefix}-{Interlocked.Increment(ref _next)}";

    /// <summary>Files of the channel <paramref name="uid"/> (mapped file and FIFOs) that exist now.</summary>
    public static string[] FilesOf(string uid) => Find("jex-" + uid);

    public static string[] Find(string namePrefix = "") =>
        Directory.GetFiles(SharedMemoryChannel.DefaultDirectory(), (namePrefix.Length > 0 ? namePrefix : "jex-" + RunPrefix + "-") + "*");

    /// <summary>Fails naming every file this run left behind, after removing them so the next run starts clean.</summary>
    public static void AssertNone()
    {
        _ = Task.WaitAll([.. Watchers], TimeSpan.FromSeconds(15));
        var left = Find();
        foreach (var file in left)
        {
            File.Delete(file);
        }

        if (left.Length > 0)
        {
            throw new InvalidOperationException(
                $"The functional tests left {left.Length} shared-memory file(s) behind (now removed): {string.Join(", ", left)}");
        }
    }
}

/// <summary>
/// The suite-level check: runs after every other test of the run (see <see cref="NoLeftoversTestFramework"/>)
/// and fails naming any shared-memory file the run created and left behind.
/// </summary>
public sealed class NoLeftoverSharedMemoryFiles
{
    [Fact]
    public void AfterTheWholeSuite_NoSharedMemoryFileCreatedByTheTestsRemains() => ShmLeftovers.AssertNone();
}

/// <summary>
/// xunit's own framework, except that <see cref="NoLeftoverSharedMemoryFiles"/> runs last, after every
/// other collection has finished (collections otherwise run in parallel and in no set order).
/// </summary>
public sealed class NoLeftoversTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        // xunit's executor has the same async void shape: the runner reports completion through the sink.
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        {
            var all = testCases.ToList();
            static bool IsLast(IXunitTestCase c) => c.TestMethod.TestClass.Class.Name == typeof(NoLeftoverSharedMemoryFiles).FullName;
            using var runner = new Runner(TestAssembly, [.. all.Where(c => !IsLast(c))], [.. all.Where(IsLast)], DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class Runner(
        ITestAssembly testAssembly,
        List<IXunitTestCase> first,
        List<IXunitTestCase> last,
        IMessageSink diagnosticMessageSink,
        IMessageSink executionMessageSink,
        ITestFrameworkExecutionOptions executionOptions)
        : XunitTestAssemblyRunner(testAssembly, first, diagnosticMessageSink, executionMessageSink, executionOptions)
    {
        protected override async Task<RunSummary> RunTestCollectionsAsync(IMessageBus messageBus, CancellationTokenSource cancellationTokenSource)
        {
            var summary = await base.RunTestCollectionsAsync(messageBus, cancellationTokenSource);
            foreach (var group in last.GroupBy(c => c.TestMethod.TestClass.TestCollection))
            {
                summary.Aggregate(await RunTestCollectionAsync(messageBus, group.Key, group, cancellationTokenSource));
            }

            return summary;
        }
    }
}

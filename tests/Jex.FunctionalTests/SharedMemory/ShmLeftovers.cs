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
    private static int _next;

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
/// xunit's own framework plus one assembly-level check: when every test has run, no shared-memory
/// file created by this run may remain. A leftover is reported as an assembly cleanup failure, which
/// fails the run.
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
            using var runner = new Runner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class Runner(
        ITestAssembly testAssembly,
        IEnumerable<IXunitTestCase> testCases,
        IMessageSink diagnosticMessageSink,
        IMessageSink executionMessageSink,
        ITestFrameworkExecutionOptions executionOptions)
        : XunitTestAssemblyRunner(testAssembly, testCases, diagnosticMessageSink, executionMessageSink, executionOptions)
    {
        protected override Task BeforeTestAssemblyFinishedAsync()
        {
            Aggregator.Run(ShmLeftovers.AssertNone);
            return base.BeforeTestAssemblyFinishedAsync();
        }
    }
}

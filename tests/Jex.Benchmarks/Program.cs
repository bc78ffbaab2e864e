using BenchmarkDotNet.Running;

namespace Jex.Benchmarks;

internal static class Program
{
    public static void Main(string[] args)
    {
        // Stopwatch harness for the bare shared-memory rings (percentiles, which BenchmarkDotNet does not give).
        if (args is ["shm-ring", ..])
        {
            Environment.Exit(SharedMemory.RingHarness.Run());
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}

using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Infrastructure;

/// <summary>Where the built runtime and samples are: <c>out/</c> under the repository root, or <c>$JEX_OUT</c>.</summary>
public static class Paths
{
    public static string RepoRoot => TestPaths.RepoRoot;

    public static string Out => TestPaths.Out;

    public static string Runtime => TestPaths.Runtime;

    public static string Samples => TestPaths.Samples;

    public static string Cli => TestPaths.Cli;

    /// <summary>A fresh, unique temp directory, removed by the caller.</summary>
    public static string NewTempDirectory() => TempDirectory.CreateUnowned();
}

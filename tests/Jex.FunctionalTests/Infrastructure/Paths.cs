namespace Jex.FunctionalTests.Infrastructure;

/// <summary>Where the built runtime and samples are: <c>out/</c> under the repository root, or <c>$JEX_OUT</c>.</summary>
public static class Paths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Out { get; } = Environment.GetEnvironmentVariable("JEX_OUT") ?? Path.Combine(RepoRoot, "out");

    public static string Runtime => Require(Path.Combine(Out, "runtime", "jex-runtime"));

    public static string Samples => Require(Path.Combine(Out, "samples"));

    public static string Cli => Require(Path.Combine(Out, "cli", "jex"));

    private static string Require(string path) =>
        File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new FileNotFoundException($"'{path}' is missing: run ./demo.sh build first (or set JEX_OUT)", path);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Jex.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh, unique temp directory, removed by the caller.</summary>
    public static string NewTempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "jex-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

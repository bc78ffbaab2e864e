namespace Jex.Testing.Shared;

/// <summary>
/// Where things are: the repository (the directory holding Jex.sln, found above the test assembly)
/// and what <c>./demo.sh build</c> puts under <c>out/</c> (or <c>$JEX_OUT</c>).
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    public static string RepoRoot => Root.Value;

    public static string Out => Environment.GetEnvironmentVariable("JEX_OUT") ?? Path.Combine(RepoRoot, "out");

    /// <summary>The published sample libraries; throws naming the command to run when they are missing.</summary>
    public static string Samples => RequireBuilt(Path.Combine(Out, "samples"));

    public static string Runtime => RequireBuilt(Path.Combine(Out, "runtime", "jex-runtime"));

    public static string Cli => RequireBuilt(Path.Combine(Out, "cli", "jex"));

    /// <summary>
    /// Returns <paramref name="path"/> when it exists; otherwise throws saying it comes from
    /// <c>./demo.sh build</c>, so a missing build reads as that and not as a failing test.
    /// </summary>
    public static string RequireBuilt(string path) =>
        File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new FileNotFoundException($"'{path}' is missing: run ./demo.sh build first (or set JEX_OUT to a folder that has it)", path);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"Jex.sln was not found in any folder above {AppContext.BaseDirectory}: run the tests from a checkout of the repository");
    }
}

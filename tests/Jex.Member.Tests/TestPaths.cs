namespace Jex.Member.Tests;

internal static class TestPaths
{
    /// <summary>The repository root (the directory holding Jex.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Jex.sln not found above " + AppContext.BaseDirectory);
    }
}

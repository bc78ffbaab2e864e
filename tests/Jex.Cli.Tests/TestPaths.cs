namespace Jex.Cli.Tests;

/// <summary>The published samples from <c>./demo.sh build</c> (<c>out/</c>, or <c>$JEX_OUT</c>).</summary>
internal static class TestPaths
{
    public static string Samples
    {
        get
        {
            var path = Path.Combine(Environment.GetEnvironmentVariable("JEX_OUT") ?? Path.Combine(FindRoot(), "out"), "samples");
            return Directory.Exists(path) ? path : throw new DirectoryNotFoundException($"'{path}' is missing: run ./demo.sh build first (or set JEX_OUT)");
        }
    }

    private static string FindRoot()
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
}

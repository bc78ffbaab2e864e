namespace Jex.Testing.Shared;

/// <summary>
/// A fresh directory under the system temp folder with a unique name, removed with everything in
/// it on <see cref="Dispose"/> (tests run in parallel, and a failed one must not leave files behind).
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "jex-test")
    {
        Path = CreateUnowned(prefix);
    }

    public string Path { get; }

    /// <summary>A path inside the directory (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// A fresh unique directory that the caller removes; for code that owns its lifetime already
    /// (a fixture's Dispose, a finally block).
    /// </summary>
    public static string CreateUnowned(string prefix = "jex-test")
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid().ToString("N")[..12]}");
        return Directory.CreateDirectory(path).FullName;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // The test removed it itself.
        }
    }
}

namespace Jex.Cli.Run;

/// <summary>
/// Finds the jex-runtime that ships with jex, for jobs that name no runtime: <c>$JEX_RUNTIME</c>
/// (the executable or its folder), then <c>runtime/jex-runtime</c> beside jex (the .NET tool's
/// layout, tools/TFM/any/runtime/), then <c>../runtime/jex-runtime</c> (./demo.sh build's
/// out/cli and out/runtime).
/// </summary>
internal sealed class RuntimeLocator
{
    public const string EnvironmentVariable = "JEX_RUNTIME";
    private const string ExecutableName = "jex-runtime";

    private readonly string _toolDirectory;
    private readonly Func<string, string?> _environment;

    /// <param name="toolDirectory">The folder jex runs from; <see cref="AppContext.BaseDirectory"/> when null.</param>
    /// <param name="environment">Environment lookup; the process environment when null.</param>
    public RuntimeLocator(string? toolDirectory = null, Func<string, string?>? environment = null)
    {
        _toolDirectory = toolDirectory ?? AppContext.BaseDirectory;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <summary>The paths looked at, in order, each with where it came from.</summary>
    public IReadOnlyList<(string Path, string Source)> Candidates()
    {
        var list = new List<(string, string)>();
        if (_environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            var full = Path.GetFullPath(fromEnvironment);
            list.Add((Directory.Exists(full) ? Path.Combine(full, ExecutableName) : full, "$" + EnvironmentVariable));
        }

        list.Add((Path.GetFullPath(Path.Combine(_toolDirectory, "runtime", ExecutableName)), "beside jex"));
        list.Add((Path.GetFullPath(Path.Combine(_toolDirectory, "..", "runtime", ExecutableName)), "jex's ../runtime"));
        return list;
    }

    /// <summary>The first candidate that exists.</summary>
    /// <exception cref="PreflightException">None does; the message lists every path looked at.</exception>
    public string Locate()
    {
        var candidates = Candidates();
        foreach (var (path, source) in candidates)
        {
            if (File.Exists(path))
            {
                return IsExecutable(path)
                    ? path
                    : throw new PreflightException($"runtime: {path} ({source}) is not executable; run chmod u+x {path}, or set {EnvironmentVariable}=PATH to another jex-runtime");
            }
        }

        var looked = string.Join(", ", candidates.Select(c => $"{c.Path} ({c.Source})"));
        var unset = _environment(EnvironmentVariable) is { Length: > 0 } ? "" : $" ${EnvironmentVariable} is not set;";
        throw new PreflightException(
            $"runtime: no jex-runtime found; looked at {looked};{unset} set {EnvironmentVariable}=PATH to a jex-runtime, or name one in the job's runtime.service.process (path, name)");
    }

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows()
        || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}

/// <summary>A job that cannot start: a path, a key or an input that no retry can fix. One line, exit 2.</summary>
internal sealed class PreflightException : Exception
{
    public PreflightException(string message) : base(message) { }
}

using System.CommandLine;
using System.Runtime.Versioning;

namespace Jex.Cli.Bench;

/// <summary>
/// The options that name the runtime a command forks and the user code it loads, shared by
/// <c>jex bench</c> and <c>jex soak</c>. Defaults are the build's <c>out/</c> folder, beside the CLI.
/// </summary>
internal static class ForkedRuntimeOptions
{
    private static string OutDir => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, ".."));

    public static Option<string> Runtime() => new("--runtime")
    {
        HelpName = "PATH",
        Description = "The jex-runtime executable to fork.",
        DefaultValueFactory = _ => Path.Combine(OutDir, "runtime", "jex-runtime"),
    };

    public static Option<string> Samples(string functions) => new("--samples")
    {
        HelpName = "PATH",
        Description = $"UserCode:Path with the {functions} (out/samples).",
        DefaultValueFactory = _ => Path.Combine(OutDir, "samples"),
    };

    /// <summary>Refuses a --runtime or --samples path that is not there, naming the build that makes it.</summary>
    /// <exception cref="ArgumentException">Either path does not exist.</exception>
    public static void CheckExist(string runtime, string samples)
    {
        if (!File.Exists(runtime))
        {
            throw new ArgumentException($"--runtime '{runtime}' does not exist (run ./demo.sh build)");
        }

        if (!Directory.Exists(samples) && !File.Exists(samples))
        {
            throw new ArgumentException($"--samples '{samples}' does not exist (run ./demo.sh build)");
        }
    }

    /// <summary>
    /// Whether <c>jex <paramref name="command"/></c> can run on this machine; when not, says why on
    /// stderr. It reads /proc and uses Unix sockets and /dev/shm, so Linux only.
    /// </summary>
    [SupportedOSPlatformGuard("linux")]
    public static bool RunsHere(string command)
    {
        if (OperatingSystem.IsLinux())
        {
            return true;
        }

        Console.Error.WriteLine($"jex {command}: Linux only (/proc, Unix sockets, /dev/shm)");
        return false;
    }
}

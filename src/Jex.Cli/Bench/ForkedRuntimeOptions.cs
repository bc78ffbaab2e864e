using System.CommandLine;

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
}

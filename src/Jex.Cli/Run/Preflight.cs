namespace Jex.Cli.Run;

/// <summary>
/// What can be checked before a runtime starts: the runtime executable, the user code and the
/// input. Each failure is a <see cref="PreflightException"/> whose one line names the key or
/// option, the path and what was looked for, and what to do; the job then exits 2 without a
/// single restart.
/// </summary>
internal static class Preflight
{
    private const int DeepestSearch = 6;

    /// <summary>Checks <paramref name="job"/>; returns it with the bundled runtime resolved.</summary>
    /// <param name="job">The parsed job.</param>
    /// <param name="options">The command line's input choice.</param>
    /// <param name="locator">Finds the jex-runtime that ships with jex.</param>
    /// <param name="userCodeKey">How the user code was given, for messages: runtime.user-code or --project.</param>
    public static JobDefinition Check(JobDefinition job, RunOptions options, RuntimeLocator locator, string userCodeKey = "runtime.user-code")
    {
        var transform = job.Transform;
        var service = transform.Service;
        if (service.IsBundled)
        {
            service = service with { Executable = locator.Locate() };
        }
        else if (service.Kind == ServiceKind.Process && !File.Exists(service.Executable))
        {
            throw new PreflightException(
                $"{job.FilePath}: runtime.service.process: {service.Executable} does not exist; fix its path and name, or drop runtime.service to use the jex-runtime that ships with jex");
        }

        if (service.Kind != ServiceKind.Passthru && transform.UserCodePath is { } userCode)
        {
            CheckUserCode(userCode, $"{job.FilePath}: {userCodeKey}");
        }

        CheckInput(job, options);
        return job with { Transform = transform with { Service = service } };
    }

    /// <summary>A .csproj, a .dll, or a folder with a .dll directly in it.</summary>
    public static void CheckUserCode(string path, string key)
    {
        if (IsProject(path))
        {
            if (!File.Exists(path))
            {
                throw new PreflightException($"{key}: the project {path} does not exist; fix the path (relative paths are relative to the job file's folder)");
            }

            return;
        }

        if (File.Exists(path))
        {
            if (!path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                throw new PreflightException($"{key}: {path} is neither a .csproj, a .dll nor a folder; name the function project's .csproj or its built .dll");
            }

            return;
        }

        if (!Directory.Exists(path))
        {
            throw new PreflightException(
                $"{key}: {path} does not exist (looked for a .csproj, a .dll or a folder holding one); fix the path (relative paths are relative to the job file's folder)");
        }

        if (Directory.EnumerateFiles(path, "*.dll").Any())
        {
            return;
        }

        var project = Directory.EnumerateFiles(path, "*.csproj").Order(StringComparer.Ordinal).FirstOrDefault();
        var deeper = FindDeeperDll(path);
        var hint = project is not null ? $"; or name the project {project} to have jex build it" : "";
        throw new PreflightException(deeper is not null
            ? $"{key}: the folder {path} holds no .dll; found {deeper} further down: point user-code at {Path.GetDirectoryName(deeper)}{hint}"
            : $"{key}: the folder {path} holds no .dll, nor does any folder below it; build the functions first{(hint.Length > 0 ? hint : ", or name their .csproj")}");
    }

    public static bool IsProject(string path) => path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase);

    /// <summary>The .dll nearest below <paramref name="folder"/>, Release builds first; null when there is none.</summary>
    public static string? FindDeeperDll(string folder)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = DeepestSearch, IgnoreInaccessible = true };
        return Directory.EnumerateFiles(folder, "*.dll", options)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}ref{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .OrderBy(f => f.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? 0 : 1)
            .ThenBy(f => f.Count(c => c == Path.DirectorySeparatorChar))
            .ThenBy(f => f, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private static void CheckInput(JobDefinition job, RunOptions options)
    {
        if (options.Generate is not null)
        {
            return;
        }

        if (options.InputPath is { } input)
        {
            if (!File.Exists(input))
            {
                throw new PreflightException($"--input: {input} does not exist; give a JSON-lines file with one {{\"key\":...,\"value\":...}} per line, or --generate N");
            }

            return;
        }

        var demo = JobRunner.DemoDataPath(job);
        if (!File.Exists(demo))
        {
            throw new PreflightException(
                $"{job.FilePath}: no input: the source map '{job.Source.MapName}' reads {demo} by default and it does not exist; create it, or give --input FILE.jsonl or --generate N");
        }
    }
}

using System.Diagnostics;
using System.IO.Compression;
using Jex.FunctionalTests.Infrastructure;

namespace Jex.FunctionalTests.Deploy;

/// <summary>
/// One small user library, Acme.Live, built in several versions (same assembly name, different
/// code) once per test class into a temp folder, the way a user rebuilds a library: "tag" returns
/// the value with "-v1" or "-v2" appended, "echo" the same with "/echo"; "broken" has a function
/// that takes no item, so it does not load; "reshaped" makes "tag" a flat-map.
/// </summary>
public sealed class LiveCodeVersions : IDisposable
{
    public LiveCodeVersions()
    {
        Root = Directory.CreateTempSubdirectory("jex-live-code-").FullName;
        V1 = Build("v1", Suffix("-v1"));
        V2 = Build("v2", Suffix("-v2"));
        Broken = Build("broken", Suffix("-broken") + """

            public static class Unbindable
            {
                [JexFunction("noInput")]
                public static string NoInput() => "nothing to bind";
            }
            """);
        Reshaped = Build("reshaped", """
            public static class Functions
            {
                [JexFunction("tag")]
                public static string[] Tag(string value) => [value + "-a", value + "-b"];

                [JexFunction("echo")]
                public static string Echo(string value) => value + "-reshaped/echo";
            }
            """);
    }

    public string Root { get; }

    /// <summary>Build output folders, one per version.</summary>
    public string V1 { get; }

    public string V2 { get; }

    public string Broken { get; }

    public string Reshaped { get; }

    /// <summary>The version's output folder as a zip, as <c>jex deploy</c> sends a folder.</summary>
    public static byte[] Zip(string folder)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            {
                zip.CreateEntryFromFile(file, Path.GetRelativePath(folder, file).Replace('\\', '/'));
            }
        }

        return memory.ToArray();
    }

    public static string Assembly(string folder) => Path.Combine(folder, "Acme.Live.dll");

    private static string Suffix(string suffix) => $$"""
        public static class Functions
        {
            [JexFunction("tag")]
            public static string Tag(string value) => value + "{{suffix}}";

            [JexFunction("echo")]
            public static string Echo(string value) => value + "{{suffix}}/echo";
        }
        """;

    private string Build(string name, string code)
    {
        var project = Directory.CreateDirectory(Path.Combine(Root, "src", name)).FullName;
        File.WriteAllText(Path.Combine(project, "Acme.Live.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <EnableDynamicLoading>true</EnableDynamicLoading>
                <AssemblyName>Acme.Live</AssemblyName>
              </PropertyGroup>
              <ItemGroup>
                <Reference Include="Jex.UserCode">
                  <HintPath>{Path.Combine(Paths.Out, "runtime", "Jex.UserCode.dll")}</HintPath>
                  <Private>false</Private>
                </Reference>
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Functions.cs"), "using Jex.UserCode;\n\nnamespace Acme.Live;\n\n" + code + "\n");
        var output = Path.Combine(Root, "out", name);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = project,
        };
        foreach (var a in (string[])["build", "-c", "Release", "-o", output, "-nologo", "-v:q"])
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"building the {name} fixture took over 3 minutes");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the {name} fixture failed:\n{stdout.Result}\n{stderr.Result}");
        }

        return output;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

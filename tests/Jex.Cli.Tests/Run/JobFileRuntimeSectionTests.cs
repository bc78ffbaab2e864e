using Jex.Cli.Run;
using Jex.Protocol.Contract;

namespace Jex.Cli.Tests.Run;

/// <summary>The runtime section of a job file is optional: a function author names only user-code.</summary>
public sealed class JobFileRuntimeSectionTests
{
    private const string TemplateJob = """
        job:
          name: Acme.Functions
          pipeline:
            - source: map-journal
              map-name: input
            - transform: user-code
              function: enrichOrder
              runtime:
                user-code: src/Acme.Functions/Acme.Functions.csproj
            - sink: map
              map-name: output
        """;

    private static JobDefinition Parse(string yaml, string file = "/work/acme/job.yml") =>
        new JobFileParser(file, new Dictionary<string, string>(), _ => null, uid: "u1", platform: "linux-x64").Parse(yaml);

    [Fact]
    public void Parse_WhenRuntimeNamesOnlyUserCode_UsesTheBundledRuntimeOverGrpc()
    {
        var job = Parse(TemplateJob);

        Assert.True(job.Transform.Service.IsBundled);
        Assert.Equal(ServiceKind.Process, job.Transform.Service.Kind);
        Assert.Null(job.Transform.Service.Executable);
        Assert.Equal(new TransportSpec(TransportKind.Grpc, 0, null), job.Transform.Transport);
    }

    [Fact]
    public void Parse_WhenUserCodeIsRelative_ResolvesItFromTheJobFilesFolderNotTheWorkingDirectory()
    {
        var job = Parse(TemplateJob, "/work/acme/job.yml");

        Assert.Equal("/work/acme/src/Acme.Functions/Acme.Functions.csproj", job.Transform.UserCodePath);
    }

    [Fact]
    public void Parse_WhenARelativeJobPathIsGiven_ResolvesUserCodeAgainstItsAbsoluteFolder()
    {
        var job = Parse(TemplateJob, "acme/job.yml");

        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "acme", "src", "Acme.Functions", "Acme.Functions.csproj"), job.Transform.UserCodePath);
    }

    [Fact]
    public void Parse_WhenThereIsNoRuntimeSectionAtAll_NamesTheMissingUserCodeKey()
    {
        var yaml = TemplateJob.Replace("      runtime:\n        user-code: src/Acme.Functions/Acme.Functions.csproj\n", "", StringComparison.Ordinal);

        var ex = Assert.Throws<JobFileException>(() => Parse(yaml));

        Assert.Equal("job.pipeline[1].runtime.user-code", ex.Key);
        Assert.Contains("needs 'user-code: PATH'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".csproj", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenServiceIsGiven_KeepsItsExecutable()
    {
        var yaml = TemplateJob.Replace("      runtime:\n", "      runtime:\n        service:\n          process: { path: rt, name: jex-runtime }\n", StringComparison.Ordinal);

        var job = Parse(yaml);

        Assert.False(job.Transform.Service.IsBundled);
        Assert.Equal("/work/acme/rt/jex-runtime", job.Transform.Service.Executable);
    }
}

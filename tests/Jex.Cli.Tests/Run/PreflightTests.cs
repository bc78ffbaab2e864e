using Jex.Cli.Run;
using Jex.Protocol.Contract;

namespace Jex.Cli.Tests.Run;

/// <summary>Errors no retry can fix are found before anything starts, each as one line naming the path.</summary>
public sealed class PreflightTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-preflight-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Touch(params string[] parts)
    {
        var path = Path.Combine([_root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private JobDefinition Job(string? userCode, string? executable = null, ServiceKind kind = ServiceKind.Process) => new()
    {
        Name = "j",
        FilePath = Path.Combine(_root, "job.yml"),
        Resources = [],
        Source = new SourceStage("input", "START_FROM_OLDEST", 1),
        Sink = new SinkStage("output", 1),
        Uid = "u",
        Transform = new TransformStage
        {
            Name = "t",
            Function = "f",
            Service = new ServiceSpec(kind, executable, [], null, null),
            Transport = new TransportSpec(TransportKind.Grpc, kind == ServiceKind.Passthru ? 5252 : 0, null),
            UserCodePath = userCode,
        },
    };

    private RuntimeLocator Locator() => new(Path.Combine(_root, "cli"), _ => null);

    [Fact]
    public void Check_WhenTheJobNamesNoRuntime_ResolvesTheBundledOne()
    {
        var runtime = Touch("runtime", "jex-runtime");
        var dll = Touch("code", "F.dll");
        Touch("data", "input.jsonl");

        var checkedJob = Preflight.Check(Job(Path.GetDirectoryName(dll)), new RunOptions(), Locator());

        Assert.Equal(runtime, checkedJob.Transform.Service.Executable);
    }

    [Fact]
    public void Check_WhenUserCodeDoesNotExist_NamesTheKeyThePathAndWhatWasLookedFor()
    {
        Touch("runtime", "jex-runtime");
        var missing = Path.Combine(_root, "nope");

        var ex = Assert.Throws<PreflightException>(() => Preflight.Check(Job(missing), new RunOptions(), Locator()));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith(Path.Combine(_root, "job.yml") + ": runtime.user-code: " + missing + " does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("looked for a .csproj, a .dll or a folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WhenTheFolderHoldsTheDllDeeperDown_NamesThePathFound()
    {
        Touch("runtime", "jex-runtime");
        Touch("code", "Acme.csproj");
        var deep = Touch("code", "bin", "Release", "net10.0", "Acme.dll");
        Touch("code", "obj", "Debug", "net10.0", "ref", "Acme.dll");

        var ex = Assert.Throws<PreflightException>(() => Preflight.Check(Job(Path.Combine(_root, "code")), new RunOptions(), Locator()));

        Assert.Contains($"found {deep} further down: point user-code at {Path.GetDirectoryName(deep)}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Acme.csproj to have jex build it", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WhenTheRuntimeExecutableIsMissing_NamesTheServiceKey()
    {
        Touch("code", "F.dll");
        var exe = Path.Combine(_root, "rt", "jex-runtime");

        var ex = Assert.Throws<PreflightException>(() => Preflight.Check(Job(Path.Combine(_root, "code"), exe), new RunOptions(), Locator()));

        Assert.Contains($"runtime.service.process: {exe} does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WhenTheInputFileIsMissing_NamesTheOption()
    {
        Touch("runtime", "jex-runtime");
        Touch("code", "F.dll");
        var input = Path.Combine(_root, "in.jsonl");

        var ex = Assert.Throws<PreflightException>(() => Preflight.Check(Job(Path.Combine(_root, "code")), new RunOptions { InputPath = input }, Locator()));

        Assert.StartsWith($"--input: {input} does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WhenTheDemoDataIsMissing_NamesTheDefaultPathAndTheAlternatives()
    {
        Touch("runtime", "jex-runtime");
        Touch("code", "F.dll");

        var ex = Assert.Throws<PreflightException>(() => Preflight.Check(Job(Path.Combine(_root, "code")), new RunOptions(), Locator()));

        Assert.Contains(Path.Combine(_root, "data", "input.jsonl"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("--input FILE.jsonl or --generate N", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WhenTheServiceIsPassthru_DoesNotRequireUserCodeOnThisMachine()
    {
        var job = Job(Path.Combine(_root, "elsewhere"), kind: ServiceKind.Passthru);

        var checkedJob = Preflight.Check(job, new RunOptions { Generate = 1 }, Locator());

        Assert.Equal(ServiceKind.Passthru, checkedJob.Transform.Service.Kind);
    }

    [Fact]
    public void CheckUserCode_WhenGivenAProjectThatExists_Accepts()
    {
        var project = Touch("src", "Acme.csproj");

        Preflight.CheckUserCode(project, "--project");
        Assert.True(Preflight.IsProject(project));
    }
}

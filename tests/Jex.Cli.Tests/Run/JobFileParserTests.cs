using Jex.Cli.Run;
using Jex.Protocol.Contract;
using Jex.Testing.Shared;
using Jex.Transport.SharedMemory;

namespace Jex.Cli.Tests.Run;

public sealed class JobFileParserTests
{
    private const string File = "/jobs/test.yml";

    private const string ValidJob = """
        job:
          name: my-job
          resources:
            - id: rt-linux-x64
              platform: linux-x64
              path: "/opt/jex/runtime"
              type: DIRECTORY
            - id: code
              path: "samples"
              type: DIRECTORY
          pipeline:
            - pipeline:
                - source: map-journal
                  map-name: "streamed-map"
                  journal-initial-position: START_FROM_CURRENT
                  timestamp: INGESTION
                - transform: user-code
                  runtime:
                    service:
                      process:
                        path: "{@rt-{PLATFORM}}"
                        name: "jex-runtime"
                        args:
                          - "--usercode:uid={UID}"
                    transport:
                      grpc:
                        port: 0
                    user-code: "{@code}"
                  function: doThingDotnet
                  name: dotnet-transform
                  parallel-processors: 2
                  parallel-operations: 4
                  preserve-order: true
                - sink: map
                  map-name: "result-map"
        """;

    private static JobDefinition Parse(string yaml, Dictionary<string, string>? vars = null, Dictionary<string, string>? env = null) =>
        new JobFileParser(File, vars ?? [], name => env?.GetValueOrDefault(name), uid: "uid123", platform: "linux-x64").Parse(yaml);

    private static JobFileException ParseFails(string yaml, Dictionary<string, string>? vars = null) =>
        Assert.Throws<JobFileException>(() => Parse(yaml, vars));

    [Fact]
    public void Parse_WhenJobIsValid_ResolvesResourcesPlaceholdersAndStages()
    {
        var job = Parse(ValidJob);

        Assert.Equal("my-job", job.Name);
        Assert.Equal("streamed-map", job.Source.MapName);
        Assert.Equal("START_FROM_CURRENT", job.Source.InitialPosition);
        Assert.Equal("result-map", job.Sink.MapName);
        var t = job.Transform;
        Assert.Equal("doThingDotnet", t.Function);
        Assert.Equal("dotnet-transform", t.Name);
        Assert.Equal(ServiceKind.Process, t.Service.Kind);
        Assert.Equal("/opt/jex/runtime/jex-runtime", t.Service.Executable);
        Assert.Equal(["--usercode:uid=uid123"], t.Service.Arguments);
        Assert.Equal("/jobs/samples", t.UserCodePath);
        Assert.Equal(new TransportSpec(TransportKind.Grpc, 0, null), t.Transport);
        Assert.Equal((2, 4, true), (t.ParallelProcessors, t.ParallelOperations, t.PreserveOrder));
        Assert.Equal("json", t.Format);
    }

    [Fact]
    public void Parse_WhenStageTypeIsUnknown_NamesTheKeyAndLine()
    {
        var ex = ParseFails(ValidJob.Replace("- transform: user-code", "- transform: python-code", StringComparison.Ordinal));

        Assert.Equal(17, ex.Line);
        Assert.Equal("job.pipeline[0].pipeline[1].transform", ex.Key);
        Assert.Contains("/jobs/test.yml:17:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unsupported transform 'python-code' (supported: user-code)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenAStageHasNoKnownKind_NamesTheStageLine()
    {
        var ex = ParseFails(ValidJob.Replace("- sink: map", "- filter: map", StringComparison.Ordinal));

        Assert.Equal(34, ex.Line);
        Assert.Contains("exactly one of 'source', 'transform' or 'sink'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenFunctionIsMissing_NamesTheKeyAndLine()
    {
        var ex = ParseFails(ValidJob.Replace("          function: doThingDotnet\n", "", StringComparison.Ordinal));

        Assert.Equal("job.pipeline[0].pipeline[1].function", ex.Key);
        Assert.Equal(17, ex.Line);
        Assert.Contains("required key is missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenTransportIsUnknown_NamesTheKeyAndLine()
    {
        var yaml = ValidJob.Replace("            transport:\n              grpc:\n                port: 0", "            transport: carrier-pigeon", StringComparison.Ordinal);
        Assert.NotEqual(ValidJob, yaml);
        var ex = ParseFails(yaml);

        Assert.Equal("job.pipeline[0].pipeline[1].runtime.transport", ex.Key);
        Assert.Equal(25, ex.Line);
        Assert.Contains("unsupported transport 'carrier-pigeon' (supported: grpc, shared-memory)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("block", "Block")]
    [InlineData("Spin", "Spin")]
    [InlineData("adaptive", "Adaptive")]
    public void Parse_SharedMemoryWait_IsTheNamedMode(string text, string mode)
    {
        var expected = Enum.Parse<WaitMode>(mode);
        var job = Parse(ValidJob.Replace("              grpc:\n                port: 0", $"              shared-memory:\n                wait: {text}", StringComparison.Ordinal));

        Assert.Equal(new TransportSpec(TransportKind.SharedMemory, 0, null, expected), job.Transform.Transport);
    }

    [Fact]
    public void Parse_SharedMemoryWithoutWait_LeavesEachSideItsDefault()
    {
        var job = Parse(ValidJob.Replace("            transport:\n              grpc:\n                port: 0", "            transport: shared-memory", StringComparison.Ordinal));

        Assert.Equal(new TransportSpec(TransportKind.SharedMemory, 0, null), job.Transform.Transport);
    }

    [Fact]
    public void Parse_WhenSharedMemoryWaitIsUnknown_NamesTheKeyLineAndTheModes()
    {
        var ex = ParseFails(ValidJob.Replace("              grpc:\n                port: 0", "              shared-memory:\n                wait: nap", StringComparison.Ordinal));

        Assert.Equal("job.pipeline[0].pipeline[1].runtime.transport.shared-memory.wait", ex.Key);
        Assert.Equal(27, ex.Line);
        Assert.Contains("unknown wait mode 'nap' (expected one of: adaptive, spin, block)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenSharedMemoryHasAnUnknownOption_NamesIt()
    {
        var ex = ParseFails(ValidJob.Replace("              grpc:\n                port: 0", "              shared-memory:\n                spin-us: 5", StringComparison.Ordinal));

        Assert.Contains("spin-us", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("job.pipeline[0].pipeline[1].runtime.transport.shared-memory", ex.Key, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenVariableIsUnknown_NamesTheVariableKeyAndLine()
    {
        var ex = ParseFails(ValidJob.Replace("\"/opt/jex/runtime\"", "\"$DOTNET_DIR/linux-x64\"", StringComparison.Ordinal));

        Assert.Equal("job.resources[0].path", ex.Key);
        Assert.Equal(6, ex.Line);
        Assert.Contains("unknown variable $DOTNET_DIR", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenVariablesAreGiven_CommandLineWinsOverEnvironmentAndDefaultsApply()
    {
        var yaml = ValidJob
            .Replace("\"/opt/jex/runtime\"", "\"$DIR/${SUB}/rt\"", StringComparison.Ordinal)
            .Replace("function: doThingDotnet", "function: ${FUNCTION:-identity}", StringComparison.Ordinal)
            .Replace("name: dotnet-transform", "name: cost-$$5", StringComparison.Ordinal);

        var job = Parse(yaml, new() { ["DIR"] = "/cli" }, new() { ["DIR"] = "/env", ["SUB"] = "from-env" });

        Assert.Equal("/cli/from-env/rt/jex-runtime", job.Transform.Service.Executable);
        Assert.Equal("identity", job.Transform.Function);
        Assert.Equal("cost-$5", job.Transform.Name);
        Assert.Equal("doThingDotnet", Parse(yaml.Replace("${FUNCTION:-identity}", "${FUNCTION:-doThingDotnet}", StringComparison.Ordinal), new() { ["DIR"] = "/d", ["SUB"] = "s" }).Transform.Function);
    }

    [Fact]
    public void Parse_WhenKeyIsUnknown_RefusesItNamingKeyAndLine()
    {
        var ex = ParseFails(ValidJob.Replace("preserve-order: true", "preserve-order: true\n          retries: 3", StringComparison.Ordinal));

        Assert.Equal("job.pipeline[0].pipeline[1].retries", ex.Key);
        Assert.Equal(34, ex.Line);
        Assert.Contains("unsupported key 'retries'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenResourceIsUnknown_ListsTheDefinedOnes()
    {
        var ex = ParseFails(ValidJob.Replace("{@code}", "{@nope}", StringComparison.Ordinal));

        Assert.Equal(28, ex.Line);
        Assert.Contains("unknown resource '@nope' (defined: rt-linux-x64, code)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenPassthruHasNoPort_SaysWhereToPutIt()
    {
        var yaml = ValidJob.Replace(
            "            service:\n              process:\n                path: \"{@rt-{PLATFORM}}\"\n                name: \"jex-runtime\"\n                args:\n                  - \"--usercode:uid={UID}\"",
            "            service: passthru",
            StringComparison.Ordinal);
        Assert.NotEqual(ValidJob, yaml);

        var ex = ParseFails(yaml);

        Assert.Contains("passthru over gRPC needs 'grpc: { port: N }'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new TransportSpec(TransportKind.Grpc, 5252, null), Parse(yaml.Replace("port: 0", "port: 5252", StringComparison.Ordinal)).Transform.Transport);
    }

    [Theory]
    [InlineData("parallel-operations: 4", "parallel-operations: many", "expected a whole number from 1 to 1024, got 'many'")]
    [InlineData("preserve-order: true", "preserve-order: perhaps", "expected true or false, got 'perhaps'")]
    [InlineData("journal-initial-position: START_FROM_CURRENT", "journal-initial-position: START_FROM_TOMORROW", "unsupported value 'START_FROM_TOMORROW'")]
    [InlineData("- sink: map", "- sink: list", "unsupported sink 'list' (supported: map)")]
    [InlineData("- source: map-journal", "- source: kafka", "unsupported source 'kafka' (supported: map-journal)")]
    [InlineData("name: dotnet-transform", "format: avro", "unsupported format 'avro' (supported: json, text, compact)")]
    public void Parse_WhenAValueIsUnsupported_SaysWhatIsSupported(string from, string to, string expected)
    {
        var ex = ParseFails(ValidJob.Replace(from, to, StringComparison.Ordinal));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("/jobs/test.yml:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WhenYamlIsBroken_GivesTheLine()
    {
        var ex = ParseFails("job:\n  name: x\n  pipeline: [\n");

        Assert.True(ex.Line >= 3, ex.Message);
        Assert.Contains("syntax error", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dotnet-process-grpc.yml", "Process", "grpc")]
    [InlineData("dotnet-process-shmem.yml", "Process", "shared-memory")]
    [InlineData("dotnet-passthru-grpc.yml", "Passthru", "grpc")]
    [InlineData("dotnet-container-grpc.yml", "Container", "grpc")]
    public void ParseFile_WhenTheShippedJobsRunWithNoArguments_TheyRunDoThingDotnetFromOut(string name, string serviceName, string transport)
    {
        var service = Enum.Parse<ServiceKind>(serviceName);
        var job = JobFileParser.ParseFile(Path.Combine(TestPaths.RepoRoot, "jobs", name), new Dictionary<string, string>());

        Assert.Equal("doThingDotnet", job.Transform.Function);
        Assert.Equal(service, job.Transform.Service.Kind);
        Assert.Equal(transport, job.Transform.Transport.Kind.ToWire());
        Assert.Equal("streamed-map", job.Source.MapName);
        Assert.Equal("result-map", job.Sink.MapName);
        if (service == ServiceKind.Process)
        {
            Assert.Equal(Path.Combine(TestPaths.RepoRoot, "out", "runtime", "jex-runtime"), job.Transform.Service.Executable);
            Assert.Equal(Path.Combine(TestPaths.RepoRoot, "out", "samples", "Jex.Samples"), job.Transform.UserCodePath);
        }

        if (service == ServiceKind.Passthru)
        {
            Assert.Equal(5252, job.Transform.Transport.Port);
        }
    }

    private const string ProcessService = """
                      process:
                        path: "{@rt-{PLATFORM}}"
                        name: "jex-runtime"
                        args:
                          - "--usercode:uid={UID}"
        """;

    private static string ContainerJob(string options) => ValidJob.Replace(ProcessService, $$"""
                      container:
                        image: localhost/jex-runtime:latest
        {{string.Join('\n', options.Split('\n').Select(l => "                " + l))}}
        """, StringComparison.Ordinal);

    [Fact]
    public void Parse_WhenTheContainerHasLimits_TakesMemoryAndPidsLimit()
    {
        var job = Parse(ContainerJob("memory: 512M\npids-limit: 256"));

        Assert.Equal(ServiceKind.Container, job.Transform.Service.Kind);
        Assert.Equal(("512m", 256), (job.Transform.Service.Memory, job.Transform.Service.PidsLimit));
        var options = Jex.Cli.Run.RuntimeServices.ContainerOptions(job.Transform.Service);
        Assert.Equal(("512m", 256), (options.Memory, options.PidsLimit));
    }

    [Fact]
    public void Parse_WhenTheContainerHasNoLimits_TheLauncherDefaultsApply()
    {
        var job = Parse(ContainerJob("args: []"));

        Assert.Equal((null, null), (job.Transform.Service.Memory, job.Transform.Service.PidsLimit));
        var options = Jex.Cli.Run.RuntimeServices.ContainerOptions(job.Transform.Service);
        Assert.Equal(("1g", 512), (options.Memory, options.PidsLimit));
    }

    [Theory]
    [InlineData("memory: lots", "memory: expected a memory size of at least 64m", "'lots'")]
    [InlineData("memory: 10m", "memory: expected a memory size of at least 64m", "'10m'")]
    [InlineData("memory: 5x", "memory: expected a memory size", "'5x'")]
    [InlineData("pids-limit: 8", "pids-limit: expected a whole number from 32 to 1000000", "'8'")]
    public void Parse_WhenAContainerLimitIsBad_NamesTheKeyAndSaysWhatIsExpected(string option, string expected, string value)
    {
        var ex = ParseFails(ContainerJob(option));

        Assert.Contains("job.pipeline[0].pipeline[1].runtime.service.container." + expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(value, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("/jobs/test.yml:", ex.Message, StringComparison.Ordinal);
    }
}

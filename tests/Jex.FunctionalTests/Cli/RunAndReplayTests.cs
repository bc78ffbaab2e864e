using System.Diagnostics;
using System.Text.Json;
using Jex.FunctionalTests.Member;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// The real out/cli/jex on a function author's folder: it builds the .csproj, runs it on the
/// jex-runtime that ships beside it, keeps failed items, records and replays.
/// </summary>
public sealed class RunAndReplayTests : IClassFixture<FunctionProject>
{
    // A first build restores and compiles; on two shared cores that can take a minute.
    private static readonly TimeSpan BuildAndRun = TimeSpan.FromSeconds(240);
    private readonly FunctionProject _fn;

    public RunAndReplayTests(FunctionProject fn) => _fn = fn;

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Run_WhenUserCodeIsACsproj_BuildsItWithProgressAndRunsItsOutput()
    {
        var output = _fn.File("out-build.jsonl");

        var result = await JexCli.RunAsync(["run", _fn.Job, "--output", output], BuildAndRun);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"jex: building {_fn.Project} (dotnet build -c Release", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("jex:   built Acme.Fn (", result.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"jex: built Acme\.Fn\.csproj in \d+\.\d s", result.Stderr);
        Assert.True(File.Exists(Path.Combine(_fn.BuiltFolder, "Acme.Fn.dll")), result.ToString());
        Assert.Matches("^job acme completed: in=4 out=4 errors=0 restarts=0 transport=grpc service=process elapsed=", result.SummaryLine);
        Assert.Equal(
        [
            """{"key":"o-1","value":{"id":"o-1","bulk":false}}""",
            """{"key":"o-2","value":{"id":"o-2","bulk":true}}""",
            """{"key":"o-3","value":{"id":"o-3","bulk":true}}""",
            """{"key":"o-4","value":{"id":"o-4","bulk":false}}""",
        ], await File.ReadAllLinesAsync(output));
    }

    [Fact]
    public async Task Run_WhenAnItemFails_WritesItToTheErrorsFileAndExitsOne()
    {
        var job = _fn.WriteJob("strict.yml", "strict", "src/Acme.Fn/Acme.Fn.csproj");
        var errors = _fn.File("errors.jsonl");

        var result = await JexCli.RunAsync(["run", job, "--errors", errors], BuildAndRun);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Matches("^job acme completed: in=4 out=3 errors=1 ", result.SummaryLine);
        Assert.Contains($"job acme: 1 item(s) failed in strict; they are in {errors}", result.Stderr, StringComparison.Ordinal);
        var line = Assert.Single(await File.ReadAllLinesAsync(errors));
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal("o-4", root.GetProperty("key").GetString());
        Assert.Equal("strict", root.GetProperty("function").GetString());
        Assert.Equal("USER_EXCEPTION", root.GetProperty("code").GetString());
        Assert.Equal("System.ArgumentOutOfRangeException", root.GetProperty("type").GetString());
        Assert.Contains("negative quantity in o-4", root.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("Acme.Fn.Functions.Strict", root.GetProperty("stack").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WhenItemsFailWithAllowErrorsAndVerbose_ExitsZeroAndPrintsTheStack()
    {
        var job = _fn.WriteJob("strict-allowed.yml", "strict", "src/Acme.Fn/Acme.Fn.csproj");

        var result = await JexCli.RunAsync(["run", job, "--allow-errors", "-v"], BuildAndRun);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches("^job acme completed: in=4 out=3 errors=1 ", result.SummaryLine);
        Assert.Contains("item o-4 failed in strict: USER_EXCEPTION System.ArgumentOutOfRangeException: negative quantity in o-4", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Acme.Fn.Functions.Strict", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordThenReplay_WhenTheCodeIsTheSame_ExitsZero_AndWhenItChanged_ExitsOneNamingOnlyTheItemsThatDiffer()
    {
        var recording = _fn.File("rec.jsonl");
        var run = await JexCli.RunAsync(["run", _fn.Job, "--record", recording], BuildAndRun);
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = await File.ReadAllLinesAsync(recording);
        Assert.Contains("\"record\":\"header\"", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Skip(1).Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("items").GetArrayLength()));

        var same = await JexCli.RunAsync(["replay", recording, "--project", _fn.Project], BuildAndRun);

        Assert.True(same.ExitCode == 0, same.ToString());
        Assert.Matches(@"replay rec\.jsonl: all equal: items=4 batches=\d+ differ=0 function=bulk10", Assert.Single(Lines(same.Stdout)));

        var changed = await JexCli.RunAsync(["replay", recording, "--user-code", _fn.BuiltFolder, "--function", "bulk20"], BuildAndRun);

        Assert.True(changed.ExitCode == 1, changed.ToString());
        var stdout = Lines(changed.Stdout);
        Assert.Equal(2, stdout.Length);
        Assert.StartsWith("differs: o-2 (batch ", stdout[0], StringComparison.Ordinal);
        Assert.EndsWith("""expected {"id":"o-2","bulk":true} | actual {"id":"o-2","bulk":false}""", stdout[0], StringComparison.Ordinal);
        Assert.Matches(@"replay rec\.jsonl: 1 differ: items=4 batches=\d+ differ=1 function=bulk20", stdout[1]);
        Assert.DoesNotContain("o-3", changed.Stdout + changed.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WhenUserCodeDoesNotExist_ExitsTwoWithOneLineNamingThePath()
    {
        var job = _fn.WriteJob("wrong.yml", "bulk10", "src/Acme.Fm/Acme.Fn.csproj");
        var clock = Stopwatch.StartNew();

        var result = await JexCli.RunAsync(["run", job], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(Lines(result.Stderr));
        Assert.Equal(
            $"jex run: {job}: runtime.user-code: the project {Path.Combine(_fn.Root, "src", "Acme.Fm", "Acme.Fn.csproj")} does not exist; fix the path (relative paths are relative to the job file's folder)",
            line);
        Assert.Empty(result.Stdout);
        // No build, no runtime: seconds even on a loaded machine (a restart loop would take longer and print more lines).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), result.ToString());
    }

    [Fact]
    public async Task Run_WhenTheFunctionIsUnknown_ExitsTwoNamingTheFunctionsThereAre()
    {
        var job = _fn.WriteJob("unknown.yml", "bulk99", "src/Acme.Fn/Acme.Fn.csproj");

        var result = await JexCli.RunAsync(["run", job], BuildAndRun);

        Assert.True(result.ExitCode == 2, result.ToString());
        var failure = Assert.Single(Lines(result.Stderr), l => l.StartsWith("job acme failed", StringComparison.Ordinal));
        Assert.Contains("function 'bulk99' is not in the runtime's user code; it has: ", failure, StringComparison.Ordinal);
        Assert.Contains("bulk10", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("runtime lost", result.Stderr, StringComparison.Ordinal);
        Assert.Single(Lines(result.Stderr), l => l.Contains("Starting runtime", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WhenThePassthruPortIsWrong_FailsWithinSecondsWithOneLineAndExitTwo()
    {
        var port = JexCli.FreeTcpPort();
        var job = _fn.File("passthru.yml");
        await File.WriteAllTextAsync(job, $"""
            job:
              name: acme
              pipeline:
                - source: map-journal
                  map-name: input
                - transform: user-code
                  function: bulk10
                  runtime:
                    service: passthru
                    transport:
                      grpc: {"{"} port: {port} {"}"}
                - sink: map
                  map-name: output
            """);
        var clock = Stopwatch.StartNew();

        var result = await JexCli.RunAsync(["run", job, "--token", "t", "-q"], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 2, result.ToString());
        // The one line is the real check; the bound leaves room for a loaded machine's process start.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}:\n{result}");
        var line = Assert.Single(Lines(result.Stderr));
        Assert.StartsWith($"job acme failed (in=0 out=0 errors=0 restarts=0): no runtime at http://127.0.0.1:{port}: connection refused; start one with", line, StringComparison.Ordinal);
    }
}

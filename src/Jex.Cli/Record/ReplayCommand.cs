using System.CommandLine;
using Jex.Cli.Run;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace Jex.Cli.Record;

/// <summary>
/// <c>jex replay FILE.jsonl [--user-code PATH | --project CSPROJ] [--function NAME]</c>: runs a
/// recording's batches through a real runtime and reports every item whose result changed.
/// Exit 0: every result equal; 1: some differ (or the runtime failed); 2: bad recording or paths.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("recording") { Description = "A recording written by jex run JOB.yml --record FILE.jsonl." };
        var userCode = new Option<string?>("--user-code") { HelpName = "PATH", Description = "The functions to replay against: a .dll, its folder, or a .csproj (default: the user code the recording ran)." };
        var project = new Option<FileInfo?>("--project") { HelpName = "CSPROJ", Description = "Build this .csproj (Release) and replay against its output." };
        var function = new Option<string?>("--function") { HelpName = "NAME", Description = "The function to call (default: the recorded one)." };
        var runtime = new Option<FileInfo?>("--runtime") { HelpName = "PATH", Description = "The jex-runtime executable (default: $JEX_RUNTIME, else the one that ships with jex)." };
        var show = new Option<int>("--show") { HelpName = "N", Description = "Print at most N differing items.", DefaultValueFactory = _ => 20 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Debug logs, including the runtime's own output." };

        var command = new Command("replay", "Replay a recording's batches through a real runtime and compare each item's result with the recorded one: exit 0 when all are equal, 1 when any differs.");
        command.Arguments.Add(file);
        foreach (var option in new Option[] { userCode, project, function, runtime, show, verbose })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!.FullName;
            if (parse.GetValue(userCode) is not null && parse.GetValue(project) is not null)
            {
                return Fail("--user-code and --project exclude each other; give one");
            }

            RecordHeader header;
            List<RecordedBatch> batches;
            try
            {
                (header, batches) = RecordFormat.ReadFile(path);
            }
            catch (RecordFileException ex)
            {
                return Fail(ex.Message);
            }

            var (target, key) = parse.GetValue(project) is { } csproj ? (csproj.FullName, "--project")
                : parse.GetValue(userCode) is { } given ? (Path.GetFullPath(given), "--user-code")
                : (header.UserCode, $"{path}: userCode");
            if (target is null)
            {
                return Fail($"{path}: the recording names no user code; give --user-code PATH or --project CSPROJ");
            }

            string runtimePath;
            try
            {
                runtimePath = parse.GetValue(runtime) is { } r
                    ? File.Exists(r.FullName) ? r.FullName : throw new PreflightException($"--runtime: {r.FullName} does not exist; give the jex-runtime executable")
                    : new RuntimeLocator().Locate();
                Preflight.CheckUserCode(target, key);
                if (Preflight.IsProject(target))
                {
                    target = await new UserCodeBuilder(Console.Error).BuildAsync(target, key, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (PreflightException ex)
            {
                return Fail(ex.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("jex replay: cancelled during the build").ConfigureAwait(false);
                return 130;
            }

            var level = parse.GetValue(verbose) ? LogEventLevel.Debug : LogEventLevel.Warning;
            await using var serilog = ConsoleLog.Create(level);
            using var loggers = new SerilogLoggerFactory(serilog);
            var runner = new ReplayRunner(path, header, batches, runtimePath, target, parse.GetValue(function) ?? header.Function,
                Math.Max(0, parse.GetValue(show)), Console.Out, Console.Error, loggers.CreateLogger("Jex.Member"));
            return await runner.RunAsync(cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"jex replay: {message}");
        return ReplayRunner.ExitBadInput;
    }
}

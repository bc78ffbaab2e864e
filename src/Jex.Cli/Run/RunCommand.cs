using System.CommandLine;
using System.Runtime.InteropServices;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace Jex.Cli.Run;

/// <summary>
/// <c>jex run JOB.yml [VAR=value ...]</c>: checks the job (paths, runtime, input: exit 2 with one
/// line when one is wrong), builds its user code when it is a .csproj, then runs it on the embedded map.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var job = new Argument<FileInfo>("job") { Description = "The job file (JEX job YAML); relative paths in it are relative to its folder." };
        var variables = new Argument<string[]>("variables")
        {
            Description = "VAR=value pairs for $VAR in the job file (the environment is the fallback).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var input = new Option<FileInfo?>("--input") { HelpName = "FILE.jsonl", Description = "Entries to put into the source map: JSON lines {\"key\":...,\"value\":...}. Default: data/MAP.jsonl beside the job." };
        var generate = new Option<long?>("--generate") { HelpName = "N", Description = "Put N synthetic entries key-i = {\"value\": i} instead." };
        var rate = new Option<double?>("--rate") { HelpName = "R", Description = "With --generate: entries per second (default: as fast as the job takes them)." };
        var output = new Option<FileInfo?>("--output") { HelpName = "FILE.jsonl", Description = "Write every put into the sink map to this JSON-lines file." };
        var show = new Option<int>("--show") { HelpName = "N", Description = "Print at most N 'Add entry' and N 'Found' lines.", DefaultValueFactory = _ => 50 };
        var token = new Option<string?>("--token") { HelpName = "TOKEN", Description = "Passthru: the runtime's token (default: $UserCode__Token)." };
        var project = new Option<FileInfo?>("--project") { HelpName = "CSPROJ", Description = "Build this .csproj (Release) and run its output instead of the job's runtime.user-code." };
        var errors = new Option<FileInfo?>("--errors") { HelpName = "FILE.jsonl", Description = "Write each failed item to this JSON-lines file: key, function, code, type, message, stack, batch." };
        var allowErrors = new Option<bool>("--allow-errors") { Description = "Exit 0 even when items failed (default: exit 1 when errors > 0)." };
        var record = new Option<FileInfo?>("--record") { HelpName = "FILE.jsonl", Description = "Record every batch (items with their formats) and every result to this JSON-lines file, for jex replay." };
        var otlp = new Option<string?>("--otlp") { HelpName = "ENDPOINT", Description = "Export the member's batch spans over OTLP to this collector (e.g. http://127.0.0.1:4318), and have a forked runtime export its spans and metrics there too." };
        var otlpProtocol = new Option<string?>("--otlp-protocol") { HelpName = "PROTOCOL", Description = "With --otlp: http/protobuf (default, the collector's port 4318) or grpc (4317)." };
        var metrics = new Option<FileInfo?>("--metrics") { HelpName = "FILE.json", Description = "Write the final figures per function to this JSON file: items ok/filtered/error, error codes, batches, batch p50/p95/p99 ms, events/s, elapsed." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Debug logs, the runtime's own output, and the stack of each failed item." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Warnings and errors only." };
        var watch = new Option<bool>("--watch") { Description = "Watch the user code (the folder or .dll, or a .csproj's sources, rebuilt) and deploy each change into the running job, with no event lost; the summary counts deploys." };

        var command = new Command("run", "Run a JEX job file end to end with no cluster: embedded map and journal, the user-code runtime, embedded sink map.");
        command.Arguments.Add(job);
        command.Arguments.Add(variables);
        foreach (var option in new Option[] { input, generate, rate, output, show, project, errors, allowErrors, record, otlp, otlpProtocol, metrics, token, verbose, quiet, watch })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var vars = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(variables) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    await Console.Error.WriteLineAsync($"jex run: '{pair}' is not VAR=value").ConfigureAwait(false);
                    return JobRunner.ExitBadInput;
                }

                vars[pair[..eq]] = pair[(eq + 1)..];
            }

            OtlpExport? export = null;
            if (parse.GetValue(otlp) is { } endpoint)
            {
                try
                {
                    export = OtlpExport.Parse(endpoint, parse.GetValue(otlpProtocol));
                }
                catch (ArgumentException ex)
                {
                    await Console.Error.WriteLineAsync("jex run: " + ex.Message).ConfigureAwait(false);
                    return JobRunner.ExitBadInput;
                }
            }
            else if (parse.GetValue(otlpProtocol) is not null)
            {
                await Console.Error.WriteLineAsync("jex run: --otlp-protocol needs --otlp ENDPOINT").ConfigureAwait(false);
                return JobRunner.ExitBadInput;
            }

            // A typo in the folder should not cost a whole run before it shows.
            if (parse.GetValue(metrics) is { Directory: { Exists: false } folder } metricsFile)
            {
                await Console.Error.WriteLineAsync($"jex run: --metrics {metricsFile.FullName}: the folder {folder.FullName} does not exist; create it or name another file").ConfigureAwait(false);
                return JobRunner.ExitBadInput;
            }

            var options = new RunOptions
            {
                InputPath = parse.GetValue(input)?.FullName,
                Generate = parse.GetValue(generate),
                Rate = parse.GetValue(rate),
                OutputPath = parse.GetValue(output)?.FullName,
                Show = parse.GetValue(show),
                Token = parse.GetValue(token),
                ErrorsPath = parse.GetValue(errors)?.FullName,
                AllowErrors = parse.GetValue(allowErrors),
                RecordPath = parse.GetValue(record)?.FullName,
                Verbose = parse.GetValue(verbose),
                Otlp = export,
                MetricsPath = parse.GetValue(metrics)?.FullName,
            };
            if (options.Generate is < 0 || options.Rate is <= 0 || (options.Generate is not null && options.InputPath is not null))
            {
                await Console.Error.WriteLineAsync("jex run: --generate takes N >= 0, --rate R > 0, and --generate and --input exclude each other").ConfigureAwait(false);
                return JobRunner.ExitBadInput;
            }

            JobDefinition definition;
            try
            {
                definition = JobFileParser.ParseFile(parse.GetValue(job)!.ToString(), vars);
            }
            catch (JobFileException ex)
            {
                await Console.Error.WriteLineAsync($"jex run: bad job file: {ex.Message}").ConfigureAwait(false);
                return JobRunner.ExitBadInput;
            }

            var userCodeKey = "runtime.user-code";
            if (parse.GetValue(project) is { } projectFile)
            {
                userCodeKey = "--project";
                definition = definition with { Transform = definition.Transform with { UserCodePath = projectFile.FullName } };
            }

            if (parse.GetValue(watch))
            {
                if (definition.Transform.UserCodePath is not { } watched)
                {
                    await Console.Error.WriteLineAsync($"jex run: --watch needs the code to watch: {definition.FilePath} has no runtime.user-code; add it or give --project CSPROJ").ConfigureAwait(false);
                    return JobRunner.ExitBadInput;
                }

                options = options with { WatchPath = watched };
            }

            try
            {
                definition = Preflight.Check(definition, options, new RuntimeLocator(), userCodeKey);
                if (definition.Transform.UserCodePath is { } userCode && Preflight.IsProject(userCode))
                {
                    var built = await new UserCodeBuilder(Console.Error).BuildAsync(userCode, $"{definition.FilePath}: {userCodeKey}", cancellationToken).ConfigureAwait(false);
                    definition = definition with { Transform = definition.Transform with { UserCodePath = built } };
                }
            }
            catch (PreflightException ex)
            {
                await Console.Error.WriteLineAsync($"jex run: {ex.Message}").ConfigureAwait(false);
                return JobRunner.ExitBadInput;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("jex run: cancelled during the build").ConfigureAwait(false);
                return JobRunner.ExitCancelled;
            }

            var level = parse.GetValue(verbose) ? LogEventLevel.Debug : parse.GetValue(quiet) ? LogEventLevel.Warning : LogEventLevel.Information;
            await using var serilog = ConsoleLog.Create(level);
            using var loggers = new SerilogLoggerFactory(serilog);

            // Ctrl+C or SIGTERM: cancel the job so the runtime gets SIGTERM and the exit code says
            // so, instead of the process dying with the runtime left to its parent watch.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            void OnSignal(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }

            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            // Disposed after the run: that sends the spans still buffered.
            using var tracing = export?.Start();
            return await new JobRunner(definition, options, Console.Out, Console.Error, loggers).RunAsync(stop.Token).ConfigureAwait(false);
        });
        return command;
    }
}

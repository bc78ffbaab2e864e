using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Cli.Record;
using Jex.Member.Driver;
using Jex.Member.Sessions;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Logging;

namespace Jex.Cli.Run;

/// <summary>
/// Runs a job on the embedded map: source map and journal, the transform driver, the sink map.
/// stdout carries the demo lines and the one summary line; stderr the logs and progress.
/// </summary>
internal sealed class JobRunner
{
    public const int ExitOk = 0;
    public const int ExitJobFailed = 1;
    public const int ExitBadInput = 2;
    public const int ExitCancelled = 130;

    private readonly JobDefinition _job;
    private readonly RunOptions _options;
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly ILoggerFactory _loggers;

    public JobRunner(JobDefinition job, RunOptions options, TextWriter stdout, TextWriter stderr, ILoggerFactory loggers)
    {
        _job = job;
        _options = options;
        _out = stdout;
        _err = stderr;
        _loggers = loggers;
    }

    /// <summary>The demo data used when neither --input nor --generate is given: data/MAP-NAME.jsonl beside the job file.</summary>
    public static string DemoDataPath(JobDefinition job) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(job.FilePath)) ?? ".", "data", job.Source.MapName + ".jsonl");

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var transform = _job.Transform;
        var compact = transform.Compact is { } compactSpec ? new CompactValueFormat(compactSpec) : null;
        var format = compact ?? ValueFormats.Create(transform.Format);
        List<InputEntry>? entries = null;
        if (_options.Generate is null)
        {
            var path = _options.InputPath ?? DemoDataPath(_job);
            try
            {
                entries = InputFile.Load(path);
            }
            catch (InputFileException ex)
            {
                return Fail(ExitBadInput, ex.Message);
            }

            if (compact?.CheckInput(entries, path) is { } misfit)
            {
                return Fail(ExitBadInput, misfit);
            }
        }
        else if (compact?.CheckInput([new InputEntry("key-0", JsonValues.Parse("""{"value":0}"""), null, 0)], "--generate") is { } misfit)
        {
            // --generate's values are {"value": i}: the input type needs that one number field.
            return Fail(ExitBadInput, misfit);
        }

        var logger = _loggers.CreateLogger("Jex.Member");
        Member.Launch.IRuntimeLauncher launcher;
        Member.Transports.ISessionConnector connector;
        try
        {
            launcher = RuntimeServices.CreateLauncher(transform, logger);
            connector = RuntimeServices.CreateConnector(transform.Transport);
        }
        catch (NotSupportedException ex)
        {
            return Fail(ExitBadInput, $"{_job.FilePath}:{transform.Line}: {ex.Message}");
        }

        LiveCode? liveCode = null;
        if (_options.WatchPath is { } watched)
        {
            try
            {
                liveCode = LiveCode.Start(watched, transform.UserCodePath ?? watched, _err, _options.WatchQuiet);
            }
            catch (Deploy.CodePackageException ex)
            {
                return Fail(ExitBadInput, $"--watch: {ex.Message}");
            }
        }

        await using var liveCodeScope = liveCode;
        var inFlight = transform.ParallelProcessors * transform.ParallelOperations;
        var driver = new TransformDriver(launcher, connector, new DriverOptions
        {
            Session = new SessionSettings
            {
                JobId = _job.Uid,
                JobName = _job.Name,
                StageName = transform.Name,
                Function = transform.Function,
                KeyFormat = format.KeyFormat,
                ValueFormat = format.ValueFormat,
                MaxBatchBytes = (uint)transform.BatchMaxBytes,
                MaxInFlight = (uint)inFlight,
                Settings = transform.Settings,
                Ordering = transform.Ordering,
                MaxConcurrency = (uint)transform.MaxConcurrency,
            },
            LaunchOptions = RuntimeServices.LaunchOptionsFactory(_job, _options.Token ?? Environment.GetEnvironmentVariable("UserCode__Token"), liveCode, _options.Otlp?.RuntimeArguments()),
            MaxBatchItems = transform.BatchMaxItems,
            MaxInFlight = inFlight,
            PreserveOrder = transform.PreserveOrder,
            BatchDeadlineMs = transform.DeadlineMs,
            ReadyTimeout = transform.ReadyTimeout,
            InputSchemas = compact?.InputSchemas,
            OnSchemas = compact is null ? null : compact.Learn,
            PrepareRuntime = liveCode is not null && transform.Service.Kind == ServiceKind.Container ? liveCode.DeployToStartedAsync : null,
        }, logger);

        var source = new EmbeddedJournalMap(_job.Source.MapName, format);
        var stopwatch = Stopwatch.StartNew();
        await using var sink = new MapSink(_job.Sink.MapName, format, _out, _options.Show, _options.OutputPath,
            () => ValueFormats.TypeNameOf(driver.LastReady?.Signature?.Output));
        await using var failed = new FailedItemLog(transform.Function, _options.ErrorsPath, _options.Verbose ? _err : null);
        await using var recording = _options.RecordPath is { } recordPath ? new RecordWriter(recordPath, RecordHeaderOf(format), compact is null ? null : compact.AllSchemas) : null;
        IResultSink sinks = recording is null ? new SinkChain(sink, failed) : new SinkChain(sink, failed, recording);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = driver.RunAsync(source.Journal, sinks, cts.Token);
        Task feeder = Task.CompletedTask;
        var watching = Task.CompletedTask;
        var progress = ProgressAsync(driver, stopwatch, cts.Token);
        try
        {
            // As in the seed's demo, entries are put once the job is running (START_FROM_CURRENT
            // sees them all); this also gives the display the function's type names.
            if (await Task.WhenAny(driver.FirstReady, run).ConfigureAwait(false) == driver.FirstReady)
            {
                var inputType = ValueFormats.TypeNameOf(driver.FirstReady.Result.Signature?.Input);
                if (liveCode is not null)
                {
                    watching = liveCode.RunAsync(driver, cts.Token);
                }

                feeder = entries is not null
                    ? FeedAsync(source, entries, format, inputType, cts.Token)
                    : GenerateAsync(source, _options.Generate!.Value, _options.Rate, compact, cts.Token);
                await Task.WhenAll(run, feeder).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(ExitCancelled, "cancelled", driver.Stats, stopwatch.Elapsed);
        }
        catch (JobFailedException ex)
        {
            // The runtime's own 2 (configuration) or 3 (user code) carries through, so a script can
            // tell "fix the job" from "the job failed".
            // A start no retry can fix (no such executable, nothing at a passthru address) is a
            // configuration error like the runtime's own 2.
            var code = ex.ExitCode ?? (ex.InnerException is Member.Launch.RuntimeStartException { IsFinal: true } or Member.Launch.RuntimeStartException { IsUnreachable: true }
                ? ExitBadInput
                : ExitJobFailed);
            return Fail(code, ex.Message, driver.Stats, stopwatch.Elapsed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug, not a job failure; still one line with the reason and a non-zero exit.
            return Fail(ExitJobFailed, $"{ex.GetType().Name}: {ex.Message}", driver.Stats, stopwatch.Elapsed);
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            source.Complete();
            // The driver stops its runtime (SIGTERM, then SIGKILL after the grace) before we exit.
            await Task.WhenAll(run, feeder, progress, watching).ContinueWith(static _ => { }, TaskScheduler.Default)
                .WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        }

        if (sink.Puts > sink.Shown)
        {
            _out.WriteLine($"... and {sink.Puts - sink.Shown} more entries in {sink.Name} (--show N prints more)");
        }

        var stats = driver.Stats;
        var elapsed = stopwatch.Elapsed;
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"job {_job.Name} completed: in={stats.In} out={stats.Out} errors={stats.Errors} restarts={stats.Restarts}{(liveCode is null ? "" : $" deploys={liveCode.Deploys}")} transport={transform.Transport.Kind.ToWire()} service={transform.Service.Name} elapsed={elapsed.TotalSeconds:0.00}s p99_ms={RunFigures.Ms(stats.Latency.Snapshot().PercentileMs(0.99))}"));
        var exit = ExitOk;
        if (stats.Errors > 0 && !_options.AllowErrors)
        {
            var where = _options.ErrorsPath is { } errorsPath ? $"they are in {errorsPath}" : "--errors FILE.jsonl keeps them";
            _err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"job {_job.Name}: {stats.Errors} item(s) failed in {transform.Function}; {where}, -v shows their stacks, --allow-errors exits 0 anyway"));
            exit = ExitJobFailed;
        }

        return WriteMetrics(exit, stats, elapsed);
    }

    // The figures are written whatever the outcome: a failed job's are the ones worth reading.
    private int WriteMetrics(int exit, DriverStats? stats, TimeSpan elapsed)
    {
        if (_options.MetricsPath is not { } path || stats is null)
        {
            return exit;
        }

        try
        {
            RunFigures.WriteJson(path, _job, stats, elapsed, exit);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _err.WriteLine($"job {_job.Name}: cannot write --metrics {path} ({ex.Message.TrimEnd('.')}); check the folder exists and is writable");
            return exit == ExitOk ? ExitJobFailed : exit;
        }

        return exit;
    }

    private RecordHeader RecordHeaderOf(IValueFormat format) => new()
    {
        Job = _job.Name,
        Stage = _job.Transform.Name,
        Function = _job.Transform.Function,
        Format = format.Name,
        KeyFormat = format.KeyFormat,
        ValueFormat = format.ValueFormat,
        UserCode = _job.Transform.UserCodePath,
        MaxBatchBytes = (uint)_job.Transform.BatchMaxBytes,
        Settings = _job.Transform.Settings,
    };

    private async Task FeedAsync(EmbeddedJournalMap map, List<InputEntry> entries, IValueFormat format, string? inputType, CancellationToken cancellationToken)
    {
        try
        {
            var shown = 0;
            foreach (var entry in entries)
            {
                var value = format.EncodeValue(entry.Value);
                if (shown++ < _options.Show)
                {
                    _out.WriteLine($"Add entry to {map.Name}: {entry.Key} = {format.Display(value, format.ValueFormat, entry.Type ?? inputType)}");
                }

                await map.PutAsync(entry.Key, value, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            map.Complete();
        }
    }

    // With format: compact, each generated {"value": i} is encoded with the job's schemas.
    private static async Task GenerateAsync(EmbeddedJournalMap map, long count, double? rate, CompactValueFormat? compact, CancellationToken cancellationToken)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            var buffer = new byte[64];
            for (long i = 0; i < count; i++)
            {
                if (rate is { } r && i % 256 == 0)
                {
                    // Pace in steps of 256 entries: a timer per entry would cost more than the entry.
                    var due = TimeSpan.FromSeconds(i / r);
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                    }
                }

                var length = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"value\":{i}}}"), buffer);
                var value = compact is null ? ByteString.CopyFrom(buffer, 0, length) : compact.EncodeValue(JsonValues.Parse(Encoding.UTF8.GetString(buffer, 0, length)));
                await map.PutAsync(string.Create(CultureInfo.InvariantCulture, $"key-{i}"), value, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            map.Complete();
        }
    }

    private async Task ProgressAsync(TransformDriver driver, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        (long In, long Out, long Events) counts = (0, 0, 0);
        var last = TimeSpan.Zero;
        var lastLatency = Member.Diagnostics.LatencySnapshot.Empty;
        try
        {
            while (true)
            {
                await Task.Delay(_options.ProgressInterval, cancellationToken).ConfigureAwait(false);
                var stats = driver.Stats;
                var now = stopwatch.Elapsed;
                var latency = stats.Latency.Snapshot();
                var seconds = Math.Max(0.001, (now - last).TotalSeconds);
                await _err.WriteLineAsync(RunFigures.ProgressLine(now, seconds, stats, counts, latency.Since(lastLatency))).ConfigureAwait(false);
                (counts, last, lastLatency) = ((stats.In, stats.Out, RunFigures.Events(stats)), now, latency);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private int Fail(int code, string reason, DriverStats? stats = null, TimeSpan elapsed = default)
    {
        var counts = stats is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $" (in={stats.In} out={stats.Out} errors={stats.Errors} restarts={stats.Restarts})");
        _err.WriteLine($"job {_job.Name} failed{counts}: {reason}");
        return WriteMetrics(code, stats, elapsed);
    }
}

/// <summary>Reads a JSON value for <see cref="IValueFormat.EncodeValue"/> from text (tests and tools).</summary>
internal static class JsonValues
{
    public static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}

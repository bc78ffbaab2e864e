using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Member.Transports.Grpc;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Jex.Cli.Record;

/// <summary>
/// Sends each recorded batch, as recorded, to a freshly forked runtime over gRPC, one at a time,
/// and compares each item's result with the recorded one. stdout gets one line per differing item
/// (at most <c>show</c>) and one summary line.
/// </summary>
internal sealed class ReplayRunner
{
    public const int ExitEqual = 0;
    public const int ExitDifferent = 1;
    public const int ExitBadInput = 2;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly string _file;
    private readonly RecordHeader _header;
    private readonly IReadOnlyList<RecordedBatch> _batches;
    private readonly string _runtime;
    private readonly string _userCode;
    private readonly string _function;
    private readonly int _show;
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly ILogger _logger;

    public ReplayRunner(
        string file, RecordHeader header, IReadOnlyList<RecordedBatch> batches, string runtime, string userCode, string function,
        int show, TextWriter stdout, TextWriter stderr, ILogger logger)
    {
        _file = file;
        _header = header;
        _batches = batches;
        _runtime = runtime;
        _userCode = userCode;
        _function = function;
        _show = show;
        _out = stdout;
        _err = stderr;
        _logger = logger;
    }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        IRuntimeInstance instance;
        try
        {
            instance = await new ProcessLauncher(_runtime, _logger).StartAsync(
                new RuntimeLaunchOptions(token, TransportKind.Grpc, _userCode, ReadyTimeout: ReadyTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (RuntimeStartException ex)
        {
            return Fail(ex.IsFinal ? ExitBadInput : ExitDifferent, ex.Message);
        }

        await using (instance.ConfigureAwait(false))
        {
            if (instance.Ready.Functions.Count > 0 && !instance.Ready.Functions.Contains(_function))
            {
                return Fail(ExitBadInput,
                    $"function '{_function}' is not in {_userCode}; it has: {string.Join(", ", instance.Ready.Functions)}; give --function NAME");
            }

            var differences = new List<ItemDifference>();
            long items = 0;
            try
            {
                await using var channel = await new GrpcSessionConnector().ConnectAsync(instance.Ready, cancellationToken).ConfigureAwait(false);
                var settings = new SessionSettings
                {
                    JobId = "replay-" + Guid.NewGuid().ToString("N")[..12],
                    JobName = _header.Job,
                    StageName = _header.Stage,
                    Function = _function,
                    KeyFormat = _header.KeyFormat,
                    ValueFormat = _header.ValueFormat,
                    MaxBatchBytes = _header.MaxBatchBytes == 0 ? 1024 * 1024 : _header.MaxBatchBytes,
                    MaxInFlight = 1,
                    LogLevel = Protocol.V1.LogLevel.Warning,
                    Settings = _header.Settings,
                };
                await SessionHandshake.OpenAsync(channel, settings, token, ForwardLog, ReadyTimeout, cancellationToken).ConfigureAwait(false);
                if (_header.Schemas.Count > 0)
                {
                    var schemas = new Schemas();
                    schemas.Schemas_.Add(_header.Schemas);
                    await channel.SendAsync(new MemberMessage { Schemas = schemas }, cancellationToken).ConfigureAwait(false);
                }

                ulong id = 0;
                foreach (var batch in _batches)
                {
                    var message = new Batch { Id = ++id };
                    message.Items.Add(batch.Items);
                    await channel.SendAsync(new MemberMessage { Batch = message }, cancellationToken).ConfigureAwait(false);
                    var result = await ReadResultAsync(channel, id, cancellationToken).ConfigureAwait(false);
                    differences.AddRange(ReplayDiff.Compare(batch, Expand(result, batch.Items.Count), _header.KeyFormat, _header.ValueFormat));
                    items += batch.Items.Count;
                }

                await channel.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SessionEndedException or JobFailedException or TimeoutException or IOException)
            {
                return Fail(ExitDifferent, $"the runtime did not complete the replay: {ex.Message} ({instance.OutputSummary})");
            }

            await instance.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
            foreach (var difference in differences.Take(_show))
            {
                var (expected, actual) = ReplayDiff.Shorten(difference.Expected, difference.Actual);
                await _out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"differs: {difference.Key} (batch {difference.Batch}, item {difference.Index + 1}): expected {expected} | actual {actual}")).ConfigureAwait(false);
            }

            if (differences.Count > _show)
            {
                await _out.WriteLineAsync($"... and {differences.Count - _show} more items differ (--show N prints more)").ConfigureAwait(false);
            }

            var verdict = differences.Count == 0 ? "all equal" : $"{differences.Count} differ";
            await _out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"replay {Path.GetFileName(_file)}: {verdict}: items={items} batches={_batches.Count} differ={differences.Count} function={_function} elapsed={clock.Elapsed.TotalSeconds:0.00}s")).ConfigureAwait(false);
            return differences.Count == 0 ? ExitEqual : ExitDifferent;
        }
    }

    /// <summary>A batch refused as a whole stands for the same error on each of its items.</summary>
    public static IReadOnlyList<ItemResult> Expand(BatchResult result, int items)
    {
        if (result.Results.Count == 0 && result.Error is { } error && items > 0)
        {
            return [.. Enumerable.Range(0, items).Select(_ => new ItemResult { Error = error })];
        }

        return result.Results;
    }

    private static async Task<BatchResult> ReadResultAsync(ISessionChannel channel, ulong id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await channel.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new SessionEndedException(Grpc.Core.StatusCode.Unavailable, $"the runtime ended the session before the result of batch {id}");
            switch (message.KindCase)
            {
                case RuntimeMessage.KindOneofCase.Result when message.Result.BatchId == id:
                    return message.Result;
                case RuntimeMessage.KindOneofCase.Closed:
                    throw new SessionEndedException((Grpc.Core.StatusCode)message.Closed.Code, message.Closed.Message);
                case RuntimeMessage.KindOneofCase.Error:
                    throw new JobFailedException($"the runtime refused batch {id}: {message.Error.Code}: {message.Error.Message}");
                default:
                    // Logs, schemas and pongs carry nothing to compare.
                    break;
            }
        }
    }

    private void ForwardLog(Protocol.V1.Log log) => _err.WriteLine($"runtime: {log.Category}: {log.Message}");

    private int Fail(int code, string reason)
    {
        _err.WriteLine($"jex replay: {_file}: {reason}");
        return code;
    }
}

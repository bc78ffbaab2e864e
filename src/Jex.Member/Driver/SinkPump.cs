using System.Text;
using System.Threading.Channels;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;
using Log = Jex.Member.Diagnostics.Log;

namespace Jex.Member.Driver;

/// <summary>
/// The one writer to the sink: hands each resolved batch over in the ledger's emit order, counts
/// outputs and item errors (logging the first few), and gives the batch's in-flight unit back.
/// </summary>
internal sealed class SinkPump
{
    private readonly IResultSink _sink;
    private readonly DriverStats _stats;
    private readonly ILogger _logger;
    private readonly DriverOptions _options;
    private long _loggedErrors;

    public SinkPump(IResultSink sink, DriverStats stats, DriverOptions options, ILogger logger)
    {
        _sink = sink;
        _stats = stats;
        _options = options;
        _logger = logger;
    }

    public async Task RunAsync(ChannelReader<(PendingBatch Batch, BatchResult Result)> emitted, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        await foreach (var (batch, result) in emitted.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            long outs = 0, errors = 0, ok = 0, filtered = 0;
            for (var i = 0; i < result.Results.Count; i++)
            {
                var r = result.Results[i];
                if (r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok)
                {
                    var count = r.Ok.Outputs_.Count;
                    outs += count;
                    if (count == 0)
                    {
                        filtered++;
                    }
                    else
                    {
                        ok++;
                    }
                }
                else
                {
                    errors++;
                    _stats.AddError(r.Error?.Code ?? ItemError.Types.Code.Unspecified);
                    LogItemError(batch, batch.Items[i], r.Error);
                }
            }

            await _sink.WriteAsync(batch, result, cancellationToken).ConfigureAwait(false);
            _stats.SeeCodeVersion(result.CodeVersion, first: _stats.Batches == 0);
            _stats.AddOut(outs);
            _stats.AddOk(ok);
            _stats.AddFiltered(filtered);
            _stats.AddErrors(errors);
            _stats.AddBatch();
            inFlight.Release();
        }
    }

    private void LogItemError(PendingBatch batch, Item item, ItemError? error)
    {
        if (Interlocked.Increment(ref _loggedErrors) > _options.MaxLoggedItemErrors)
        {
            return;
        }

        var key = item.Key.Length <= 128 ? Encoding.UTF8.GetString(item.Key.Span) : Encoding.UTF8.GetString(item.Key.Span[..128]) + "...";
        Log.ItemError(_logger, _options.Session.JobName, _options.Session.StageName, batch.Sequence, key, error?.Type ?? "?", error?.Message ?? "no error detail");
    }
}

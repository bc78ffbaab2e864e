using System.Text;
using Jex.Cli.Record;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>
/// Failed items: with <c>--errors FILE</c> one JSON line each (key, function, code, type, message,
/// stack, batch); with <c>-v</c> their stacks on stderr. The member's log already warns about the
/// first few; this is where each one is kept.
/// </summary>
internal sealed class FailedItemLog : IResultSink, IAsyncDisposable
{
    private readonly string _function;
    private readonly TextWriter? _stacks;
    private readonly JsonLinesFile? _file;

    /// <param name="function">The function, written on every line.</param>
    /// <param name="path">The --errors file; null for none.</param>
    /// <param name="stacks">Where stacks go (stderr with -v); null for nowhere.</param>
    public FailedItemLog(string function, string? path, TextWriter? stacks)
    {
        _function = function;
        _stacks = stacks;
        if (path is not null)
        {
            _file = new JsonLinesFile(path, 1 << 14, RecordFormat.WriterOptions);
        }
    }

    public long Count { get; private set; }

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        for (var i = 0; i < result.Results.Count; i++)
        {
            if (result.Results[i].OutcomeCase == ItemResult.OutcomeOneofCase.Ok)
            {
                continue;
            }

            Count++;
            var error = result.Results[i].Error ?? new ItemError();
            var key = Encoding.UTF8.GetString(batch.Items[i].Key.Span);
            if (_stacks is not null)
            {
                _stacks.WriteLine($"item {key} failed in {_function}: {RecordFormat.CodeName(error.Code)} {error.Type}: {error.Message}");
                if (error.Stack.Length > 0)
                {
                    _stacks.WriteLine(error.Stack);
                }
            }

            if (_file is null)
            {
                continue;
            }

            var json = _file.Writer;
            json.WriteStartObject();
            json.WriteString("key", key);
            json.WriteString("function", _function);
            json.WriteString("code", RecordFormat.CodeName(error.Code));
            json.WriteString("type", error.Type);
            json.WriteString("message", error.Message);
            json.WriteString("stack", error.Stack);
            json.WriteNumber("batch", batch.Sequence);
            json.WriteEndObject();
            _file.EndLine();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _file?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Hands each result to several sinks in turn: the map, the failed-item log, the recording.</summary>
internal sealed class SinkChain : IResultSink
{
    private readonly IResultSink[] _sinks;

    public SinkChain(params IResultSink[] sinks) => _sinks = sinks;

    public async ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        foreach (var sink in _sinks)
        {
            await sink.WriteAsync(batch, result, cancellationToken).ConfigureAwait(false);
        }
    }
}

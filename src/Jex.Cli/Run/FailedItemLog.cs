using System.Text;
using System.Text.Json;
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
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly string _function;
    private readonly TextWriter? _stacks;
    private readonly Stream? _file;
    private readonly Utf8JsonWriter? _json;

    /// <param name="function">The function, written on every line.</param>
    /// <param name="path">The --errors file; null for none.</param>
    /// <param name="stacks">Where stacks go (stderr with -v); null for nowhere.</param>
    public FailedItemLog(string function, string? path, TextWriter? stacks)
    {
        _function = function;
        _stacks = stacks;
        if (path is not null)
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 14);
            _json = new Utf8JsonWriter(_file, RecordFormat.WriterOptions);
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

            if (_json is null)
            {
                continue;
            }

            _json.Reset();
            _json.WriteStartObject();
            _json.WriteString("key", key);
            _json.WriteString("function", _function);
            _json.WriteString("code", RecordFormat.CodeName(error.Code));
            _json.WriteString("type", error.Type);
            _json.WriteString("message", error.Message);
            _json.WriteString("stack", error.Stack);
            _json.WriteNumber("batch", batch.Sequence);
            _json.WriteEndObject();
            _json.Flush();
            _file!.Write(NewLine);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_json is not null)
        {
            await _json.DisposeAsync().ConfigureAwait(false);
        }

        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }
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

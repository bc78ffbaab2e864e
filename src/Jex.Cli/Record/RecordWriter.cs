using Jex.Cli.Run;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Record;

/// <summary>
/// <c>jex run --record</c>: writes the header, then one line per batch with its items and its
/// results, in the order the sink receives them (journal order with preserve-order: true). A batch
/// the driver replayed after a restart is written once, with the result that reached the sink.
/// </summary>
internal sealed class RecordWriter : IResultSink, IAsyncDisposable
{
    private readonly JsonLinesFile _file;
    private readonly Format _keyFormat;
    private readonly Format _valueFormat;
    private readonly RecordHeader _header;
    private readonly Func<IReadOnlyList<CompactSchema>>? _schemas;
    private bool _headerWritten;

    /// <param name="path">The recording to create.</param>
    /// <param name="header">Its header.</param>
    /// <param name="schemas">
    /// The header's Compact schemas, asked for when the first batch reaches the sink (or at the end
    /// if none does): by then the runtime has announced the schemas of its outputs. Null to keep
    /// <paramref name="header"/>'s.
    /// </param>
    public RecordWriter(string path, RecordHeader header, Func<IReadOnlyList<CompactSchema>>? schemas = null)
    {
        _file = new JsonLinesFile(path, 1 << 16, RecordFormat.WriterOptions);
        _keyFormat = header.KeyFormat;
        _valueFormat = header.ValueFormat;
        _header = header;
        _schemas = schemas;
        if (schemas is null)
        {
            WriteHeader();
        }
    }

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        WriteHeader();
        RecordFormat.WriteBatch(_file.Writer, new RecordedBatch(batch.Sequence, batch.Items, result.Results), _keyFormat, _valueFormat);
        _file.EndLine();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        WriteHeader();
        return _file.DisposeAsync();
    }

    private void WriteHeader()
    {
        if (_headerWritten)
        {
            return;
        }

        _headerWritten = true;
        RecordFormat.WriteHeader(_file.Writer, _schemas is null ? _header : _header with { Schemas = _schemas() });
        _file.EndLine();
    }
}

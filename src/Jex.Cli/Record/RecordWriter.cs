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

    public RecordWriter(string path, RecordHeader header)
    {
        _file = new JsonLinesFile(path, 1 << 16, RecordFormat.WriterOptions);
        _keyFormat = header.KeyFormat;
        _valueFormat = header.ValueFormat;
        RecordFormat.WriteHeader(_file.Writer, header);
        _file.EndLine();
    }

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        RecordFormat.WriteBatch(_file.Writer, new RecordedBatch(batch.Sequence, batch.Items, result.Results), _keyFormat, _valueFormat);
        _file.EndLine();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _file.DisposeAsync();
}

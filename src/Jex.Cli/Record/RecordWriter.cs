using System.Text.Json;
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
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly Stream _file;
    private readonly Utf8JsonWriter _json;
    private readonly Format _keyFormat;
    private readonly Format _valueFormat;

    public RecordWriter(string path, RecordHeader header)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        _json = new Utf8JsonWriter(_file, RecordFormat.WriterOptions);
        _keyFormat = header.KeyFormat;
        _valueFormat = header.ValueFormat;
        RecordFormat.WriteHeader(_json, header);
        EndLine();
    }

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        RecordFormat.WriteBatch(_json, new RecordedBatch(batch.Sequence, batch.Items, result.Results), _keyFormat, _valueFormat);
        EndLine();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }

    private void EndLine()
    {
        _json.Flush();
        _json.Reset();
        _file.Write(NewLine);
    }
}

using System.Text.Json;

namespace Jex.Cli.Run;

/// <summary>
/// A file of JSON lines, created (or truncated) when constructed: write one value with
/// <see cref="Writer"/>, then <see cref="EndLine"/>. Shared by the --output, --errors and --record
/// files, which differ only in what each line holds.
/// </summary>
internal sealed class JsonLinesFile : IAsyncDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly Stream _file;

    public JsonLinesFile(string path, int bufferSize, JsonWriterOptions options = default)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize);
        Writer = new Utf8JsonWriter(_file, options);
    }

    public Utf8JsonWriter Writer { get; }

    /// <summary>Flushes the value written and ends its line; the writer is then ready for the next value.</summary>
    public void EndLine()
    {
        Writer.Flush();
        // Reset so the next value is a new document, not a second root value (which throws).
        Writer.Reset();
        _file.Write(NewLine);
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}

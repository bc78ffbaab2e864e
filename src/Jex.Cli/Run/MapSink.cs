using System.Text;
using Google.Protobuf;
using Jex.Member.Driver;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>
/// The embedded sink map. Each output of the transform is a put; the sink prints the first puts
/// like the seed's example (<c>Found: key = OtherThing(Value=__20__)</c>) and, with --output,
/// appends every put to a JSON-lines file. The file is the put log, not a snapshot, so a
/// duplicate delivery would show as a repeated key.
/// </summary>
internal sealed class MapSink : IResultSink, IAsyncDisposable
{
    private readonly IValueFormat _format;
    private readonly TextWriter _console;
    private readonly int _show;
    private readonly Func<string?> _typeName;
    private readonly Dictionary<string, ByteString> _map = new(StringComparer.Ordinal);
    private readonly JsonLinesFile? _file;
    private long _shown;

    public MapSink(string name, IValueFormat format, TextWriter console, int show, string? outputPath, Func<string?> typeName)
    {
        Name = name;
        _format = format;
        _console = console;
        _show = show;
        _typeName = typeName;
        if (outputPath is not null)
        {
            _file = new JsonLinesFile(outputPath, 1 << 16);
        }
    }

    public string Name { get; }

    public long Puts { get; private set; }

    public long Shown => _shown;

    public IReadOnlyDictionary<string, ByteString> Entries => _map;

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        for (var i = 0; i < result.Results.Count; i++)
        {
            var r = result.Results[i];
            if (r.OutcomeCase != ItemResult.OutcomeOneofCase.Ok)
            {
                continue;
            }

            var item = batch.Items[i];
            foreach (var output in r.Ok.Outputs_)
            {
                var keyBytes = output.Key.IsEmpty ? item.Key : output.Key;
                var keyFormat = output.KeyFormat == Format.Unspecified ? _format.KeyFormat : output.KeyFormat;
                var valueFormat = output.ValueFormat == Format.Unspecified ? _format.ValueFormat : output.ValueFormat;
                var key = keyFormat is Format.Text or Format.Json ? Encoding.UTF8.GetString(keyBytes.Span) : Convert.ToBase64String(keyBytes.Span);
                _map[key] = output.Value;
                Puts++;
                if (_shown < _show)
                {
                    _shown++;
                    _console.WriteLine($"Found: {key} = {_format.Display(output.Value, valueFormat, _typeName())}");
                }

                if (_file is not null)
                {
                    var json = _file.Writer;
                    json.WriteStartObject();
                    json.WritePropertyName("key");
                    if (keyFormat == Format.Json)
                    {
                        json.WriteRawValue(keyBytes.Span);
                    }
                    else
                    {
                        json.WriteStringValue(key);
                    }

                    json.WritePropertyName("value");
                    _format.WriteValue(json, output.Value, valueFormat);
                    json.WriteEndObject();
                    _file.EndLine();
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _file?.DisposeAsync() ?? ValueTask.CompletedTask;
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Google.Protobuf;
using Jex.Cli.Run;
using Jex.Protocol.V1;

namespace Jex.Cli.Record;

/// <summary>
/// The JSON-lines recording format, both ways. Text and JSON bytes are stored as strings so a
/// recording can be read and edited by hand; any other bytes (or bytes that are not UTF-8) as
/// base64 under the same name with a <c>Base64</c> suffix. Formats are resolved against the
/// session defaults when written, so every item and output names its own.
/// </summary>
internal static class RecordFormat
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteHeader(Utf8JsonWriter json, RecordHeader header)
    {
        json.WriteStartObject();
        json.WriteString("record", "header");
        json.WriteNumber("version", header.Version);
        json.WriteString("job", header.Job);
        json.WriteString("stage", header.Stage);
        json.WriteString("function", header.Function);
        json.WriteString("format", header.Format);
        json.WriteString("keyFormat", FormatName(header.KeyFormat));
        json.WriteString("valueFormat", FormatName(header.ValueFormat));
        if (header.UserCode is not null)
        {
            json.WriteString("userCode", header.UserCode);
        }

        json.WriteNumber("maxBatchBytes", header.MaxBatchBytes);
        json.WriteStartObject("settings");
        foreach (var (key, value) in header.Settings.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
        json.WriteStartArray("schemas");
        foreach (var schema in header.Schemas)
        {
            json.WriteRawValue(JsonFormatter.Default.Format(schema));
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void WriteBatch(Utf8JsonWriter json, RecordedBatch batch, Format keyDefault, Format valueDefault)
    {
        json.WriteStartObject();
        json.WriteString("record", "batch");
        json.WriteNumber("sequence", batch.Sequence);
        json.WriteStartArray("items");
        foreach (var item in batch.Items)
        {
            var keyFormat = Resolve(item.KeyFormat, keyDefault);
            var valueFormat = Resolve(item.ValueFormat, valueDefault);
            json.WriteStartObject();
            WriteBytes(json, "key", item.Key, keyFormat);
            json.WriteString("keyFormat", FormatName(keyFormat));
            WriteBytes(json, "value", item.Value, valueFormat);
            json.WriteString("valueFormat", FormatName(valueFormat));
            json.WriteNumber("timestampMs", item.TimestampMs);
            json.WriteNumber("partition", item.Partition);
            json.WriteNumber("sequence", item.Sequence);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("results");
        foreach (var result in batch.Results)
        {
            WriteResult(json, result, keyDefault, valueDefault);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void WriteResult(Utf8JsonWriter json, ItemResult result, Format keyDefault, Format valueDefault)
    {
        json.WriteStartObject();
        if (result.OutcomeCase == ItemResult.OutcomeOneofCase.Ok)
        {
            json.WriteStartArray("outputs");
            foreach (var output in result.Ok.Outputs_)
            {
                var keyFormat = Resolve(output.KeyFormat, keyDefault);
                var valueFormat = Resolve(output.ValueFormat, valueDefault);
                json.WriteStartObject();
                if (!output.Key.IsEmpty)
                {
                    WriteBytes(json, "key", output.Key, keyFormat);
                }

                json.WriteString("keyFormat", FormatName(keyFormat));
                WriteBytes(json, "value", output.Value, valueFormat);
                json.WriteString("valueFormat", FormatName(valueFormat));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            var error = result.Error ?? new ItemError();
            json.WriteStartObject("error");
            json.WriteString("code", CodeName(error.Code));
            json.WriteString("type", error.Type);
            json.WriteString("message", error.Message);
            json.WriteString("stack", error.Stack);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>Reads a whole recording.</summary>
    /// <exception cref="RecordFileException">The file is missing, or a line is not what the format says.</exception>
    public static (RecordHeader Header, List<RecordedBatch> Batches) ReadFile(string path)
    {
        var lines = UserInput.ReadFile(path, File.ReadAllLines, ex =>
            new RecordFileException($"{path}: cannot read the recording: {ex.Message}; record one with jex run JOB.yml --record {Path.GetFileName(path)}"));

        RecordHeader? header = null;
        var batches = new List<RecordedBatch>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                var kind = root.GetProperty("record").GetString();
                if (kind == "header")
                {
                    if (header is not null)
                    {
                        throw new FormatException("a second header");
                    }

                    header = ReadHeader(root);
                }
                else if (kind == "batch")
                {
                    if (header is null)
                    {
                        throw new FormatException("a batch before the header");
                    }

                    batches.Add(ReadBatch(root));
                }
                else
                {
                    throw new FormatException($"unknown record '{kind}' (expected header or batch)");
                }
            }
            catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or InvalidProtocolBufferException)
            {
                throw new RecordFileException($"{path}:{i + 1}: not a jex recording line: {ex.Message}; see docs/record-replay.md for the format");
            }
        }

        return (header ?? throw new RecordFileException($"{path}: no header line; record one with jex run JOB.yml --record FILE.jsonl"), batches);
    }

    public static RecordHeader ReadHeader(JsonElement root)
    {
        var version = root.GetProperty("version").GetInt32();
        if (version != RecordHeader.CurrentVersion)
        {
            throw new FormatException($"version {version}; this jex reads version {RecordHeader.CurrentVersion}");
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("settings", out var s))
        {
            foreach (var p in s.EnumerateObject())
            {
                settings[p.Name] = p.Value.GetString() ?? "";
            }
        }

        var schemas = new List<CompactSchema>();
        if (root.TryGetProperty("schemas", out var list))
        {
            schemas.AddRange(list.EnumerateArray().Select(e => JsonParser.Default.Parse<CompactSchema>(e.GetRawText())));
        }

        return new RecordHeader
        {
            Version = version,
            Job = root.GetProperty("job").GetString() ?? "",
            Stage = root.GetProperty("stage").GetString() ?? "",
            Function = root.GetProperty("function").GetString() ?? "",
            Format = root.GetProperty("format").GetString() ?? "",
            KeyFormat = ParseFormat(root.GetProperty("keyFormat").GetString()),
            ValueFormat = ParseFormat(root.GetProperty("valueFormat").GetString()),
            UserCode = root.TryGetProperty("userCode", out var u) ? u.GetString() : null,
            MaxBatchBytes = root.TryGetProperty("maxBatchBytes", out var m) ? m.GetUInt32() : 0,
            Settings = settings,
            Schemas = schemas,
        };
    }

    public static RecordedBatch ReadBatch(JsonElement root)
    {
        var items = new List<Item>();
        foreach (var e in root.GetProperty("items").EnumerateArray())
        {
            var keyFormat = ParseFormat(e.GetProperty("keyFormat").GetString());
            var valueFormat = ParseFormat(e.GetProperty("valueFormat").GetString());
            items.Add(new Item
            {
                Key = ReadBytes(e, "key"),
                KeyFormat = keyFormat,
                Value = ReadBytes(e, "value"),
                ValueFormat = valueFormat,
                TimestampMs = e.TryGetProperty("timestampMs", out var t) ? t.GetInt64() : 0,
                Partition = e.TryGetProperty("partition", out var p) ? p.GetInt32() : 0,
                Sequence = e.TryGetProperty("sequence", out var q) ? q.GetInt64() : 0,
            });
        }

        var results = root.GetProperty("results").EnumerateArray().Select(ReadResult).ToList();
        if (results.Count != items.Count)
        {
            throw new FormatException($"{items.Count} item(s) but {results.Count} result(s)");
        }

        return new RecordedBatch(root.GetProperty("sequence").GetInt64(), items, results);
    }

    public static ItemResult ReadResult(JsonElement e)
    {
        if (e.TryGetProperty("error", out var error))
        {
            return new ItemResult
            {
                Error = new ItemError
                {
                    Code = ParseCode(error.GetProperty("code").GetString()),
                    Type = error.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "",
                    Message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "",
                    Stack = error.TryGetProperty("stack", out var s) ? s.GetString() ?? "" : "",
                },
            };
        }

        var outputs = new Outputs();
        foreach (var o in e.GetProperty("outputs").EnumerateArray())
        {
            outputs.Outputs_.Add(new Output
            {
                Key = o.TryGetProperty("key", out _) || o.TryGetProperty("keyBase64", out _) ? ReadBytes(o, "key") : ByteString.Empty,
                KeyFormat = ParseFormat(o.GetProperty("keyFormat").GetString()),
                Value = ReadBytes(o, "value"),
                ValueFormat = ParseFormat(o.GetProperty("valueFormat").GetString()),
            });
        }

        return new ItemResult { Ok = outputs };
    }

    public static Format Resolve(Format format, Format sessionDefault) => format == Format.Unspecified ? sessionDefault : format;

    public static string FormatName(Format format) => format switch
    {
        Format.Bytes => "bytes",
        Format.Text => "text",
        Format.Json => "json",
        Format.Hazelcast => "hazelcast",
        _ => "unspecified",
    };

    public static Format ParseFormat(string? name) => name switch
    {
        "bytes" => Format.Bytes,
        "text" => Format.Text,
        "json" => Format.Json,
        "hazelcast" => Format.Hazelcast,
        "unspecified" => Format.Unspecified,
        _ => throw new FormatException($"unknown format '{name}' (known: bytes, text, json, hazelcast)"),
    };

    /// <summary>UserException -> USER_EXCEPTION, as the protocol names the code.</summary>
    public static string CodeName(ItemError.Types.Code code)
    {
        var name = code.ToString();
        var result = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                result.Append('_');
            }

            result.Append(char.ToUpperInvariant(name[i]));
        }

        return result.ToString();
    }

    public static ItemError.Types.Code ParseCode(string? name) =>
        Enum.TryParse<ItemError.Types.Code>((name ?? "").Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var code)
        && Enum.IsDefined(code)
            ? code
            : throw new FormatException($"unknown error code '{name}'");

    /// <summary>Bytes as the recording shows them: UTF-8 text for text and JSON, else base64.</summary>
    public static string Show(ByteString bytes, Format format) =>
        format is Format.Text or Format.Json && Utf8.IsValid(bytes.Span)
            ? Encoding.UTF8.GetString(bytes.Span)
            : "base64:" + Convert.ToBase64String(bytes.Span);

    private static void WriteBytes(Utf8JsonWriter json, string name, ByteString bytes, Format format)
    {
        if (format is Format.Text or Format.Json && Utf8.IsValid(bytes.Span))
        {
            json.WriteString(name, bytes.Span);
        }
        else
        {
            json.WriteBase64String(name + "Base64", bytes.Span);
        }
    }

    private static ByteString ReadBytes(JsonElement e, string name)
    {
        if (e.TryGetProperty(name, out var text))
        {
            return ByteString.CopyFromUtf8(text.GetString() ?? "");
        }

        if (e.TryGetProperty(name + "Base64", out var b64))
        {
            return ByteString.CopyFrom(b64.GetBytesFromBase64());
        }

        throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{name}' (or '{name}Base64') is missing"));
    }
}

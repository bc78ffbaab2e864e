using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Jex.Protocol.Contract;

/// <summary>The JSON object of the runtime's <c>JEX-READY {json}</c> line.</summary>
/// <param name="Transport">The transport's spelling, "grpc" or "shared-memory" (see <see cref="TransportKinds"/>).</param>
/// <param name="Address">http://127.0.0.1:PORT, unix:/path, or the shared-memory file path.</param>
/// <param name="Pid">The runtime's process id (inside its container for container mode).</param>
/// <param name="Version">The runtime's version.</param>
/// <param name="Functions">The function names it loaded.</param>
internal sealed record RuntimeReadyInfo(string Transport, string Address, int Pid, string Version, IReadOnlyList<string> Functions)
{
    /// <summary>
    /// Where jex.v1.Deploy is served, when the runtime was started with UserCode:Deploy:Enabled:
    /// over gRPC the listener's own address, over shared memory <c>unix:/path</c> of its deploy
    /// socket. Absent (null) otherwise; written only when set.
    /// </summary>
    public string? Deploy { get; init; }

    public bool Equals(RuntimeReadyInfo? other) =>
        other is not null && Transport == other.Transport && Address == other.Address && Pid == other.Pid &&
        Version == other.Version && Functions.SequenceEqual(other.Functions) && Deploy == other.Deploy;

    public override int GetHashCode() => HashCode.Combine(Transport, Address, Pid, Version, Functions.Count);
}

/// <summary>
/// The runtime's startup contract (docs/design.md): once it serves, the runtime prints one line on stdout,
/// <c>JEX-READY {"transport":...,"address":...,"pid":...,"version":...,"functions":[...]}</c>, and logs go to
/// stderr. The runtime writes it with <see cref="Write"/>; the member, the bench and the tests read it with
/// <see cref="TryParse"/>.
/// </summary>
/// <remarks>
/// The writer builds the JSON by hand and writes stdout in one call: Utf8JsonWriter and Console.Out would
/// cost assembly loading and JIT on the path to ready, for five fields whose escaping is simple. Only the
/// reader, which runs in the member, touches System.Text.Json.
/// </remarks>
internal static class ReadyLine
{
    public const string Prefix = "JEX-READY ";

    public static string Format(RuntimeReadyInfo info)
    {
        var line = new StringBuilder(256).Append(Prefix).Append("{\"transport\":");
        AppendString(line, info.Transport);
        line.Append(",\"address\":");
        AppendString(line, info.Address);
        line.Append(",\"pid\":").Append(info.Pid.ToString(CultureInfo.InvariantCulture));
        line.Append(",\"version\":");
        AppendString(line, info.Version);
        line.Append(",\"functions\":[");
        for (var i = 0; i < info.Functions.Count; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            AppendString(line, info.Functions[i]);
        }

        line.Append(']');
        if (info.Deploy is { } deploy)
        {
            line.Append(",\"deploy\":");
            AppendString(line, deploy);
        }

        return line.Append('}').ToString();
    }

    /// <summary>Writes this process's ready line to stdout.</summary>
    public static void Write(TransportKind transport, string address, string version, IReadOnlyList<string> functions, string? deploy = null)
    {
        var line = Format(new RuntimeReadyInfo(transport.ToWire(), address, Environment.ProcessId, version, functions) { Deploy = deploy });
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(bytes);
        stdout.Flush();
    }

    /// <summary>
    /// True and the parsed object when <paramref name="line"/> is a ready line; false for any other line.
    /// Fields the reader does not know are ignored, so a newer runtime may add some.
    /// </summary>
    /// <exception cref="FormatException">The line starts with the prefix but its JSON is unusable; the message names what is wrong.</exception>
    public static bool TryParse(string line, out RuntimeReadyInfo? info)
    {
        info = null;
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        info = Parse(line.AsSpan(Prefix.Length).Trim().ToString());
        return true;
    }

    private static RuntimeReadyInfo Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"expected a JSON object after \"{Prefix.TrimEnd()}\", found {root.ValueKind}");
            }

            var transport = Required(root, "transport", JsonValueKind.String).GetString()!;
            var address = Required(root, "address", JsonValueKind.String).GetString()!;
            var pidElement = Required(root, "pid", JsonValueKind.Number);
            if (!pidElement.TryGetInt32(out var pid))
            {
                throw new FormatException($"\"pid\" is not a 32-bit integer: {pidElement.GetRawText()}");
            }

            var version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var functions = root.TryGetProperty("functions", out var f) && f.ValueKind == JsonValueKind.Array
                ? f.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
                : [];
            var deploy = root.TryGetProperty("deploy", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            return new RuntimeReadyInfo(transport, address, pid, version, functions) { Deploy = deploy };
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not valid JSON ({ex.Message})", ex);
        }
    }

    private static JsonElement Required(JsonElement root, string name, JsonValueKind kind)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            throw new FormatException($"missing \"{name}\"");
        }

        return value.ValueKind == kind ? value : throw new FormatException($"\"{name}\" must be a {kind}, found {value.ValueKind}");
    }

    /// <summary>A JSON string (RFC 8259): quote, backslash and control characters escaped; the rest as is.</summary>
    private static void AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    json.Append("\\\"");
                    break;
                case '\\':
                    json.Append("\\\\");
                    break;
                case '\n':
                    json.Append("\\n");
                    break;
                case '\r':
                    json.Append("\\r");
                    break;
                case '\t':
                    json.Append("\\t");
                    break;
                case < ' ':
                    json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    json.Append(c);
                    break;
            }
        }

        json.Append('"');
    }
}

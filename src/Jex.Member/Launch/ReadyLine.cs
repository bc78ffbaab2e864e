using System.Text.Json;

namespace Jex.Member.Launch;

/// <summary>Parses the runtime's <c>JEX-READY {json}</c> line (docs/design.md, runtime startup contract).</summary>
internal static class ReadyLine
{
    public const string Prefix = "JEX-READY ";

    /// <summary>True and the parsed object when <paramref name="line"/> is a ready line.</summary>
    /// <exception cref="RuntimeStartException">The line starts with the prefix but its JSON is unusable.</exception>
    public static bool TryParse(string line, out RuntimeReadyInfo? info)
    {
        info = null;
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var json = line.AsSpan(Prefix.Length).Trim();
        try
        {
            using var doc = JsonDocument.Parse(json.ToString());
            var root = doc.RootElement;
            var transport = Required(root, "transport").GetString()!;
            var address = Required(root, "address").GetString()!;
            var pid = Required(root, "pid").GetInt32();
            var version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var functions = root.TryGetProperty("functions", out var f) && f.ValueKind == JsonValueKind.Array
                ? f.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
                : [];
            info = new RuntimeReadyInfo(transport, address, pid, version, functions);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new RuntimeStartException($"the runtime's ready line is malformed ({ex.Message}): {line}", ex);
        }
    }

    private static JsonElement Required(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value : throw new KeyNotFoundException($"missing \"{name}\"");
}

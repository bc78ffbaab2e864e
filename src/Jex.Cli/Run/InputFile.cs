using System.Text.Json;

namespace Jex.Cli.Run;

/// <summary>One entry to put into the source map.</summary>
/// <param name="Key">The map key.</param>
/// <param name="Value">The value as JSON.</param>
/// <param name="Line">Line number in the input file.</param>
/// <param name="Type">Display type name (optional "type" field), e.g. SomeThing.</param>
internal sealed record InputEntry(string Key, JsonElement Value, string? Type, int Line);

/// <summary>
/// Reads a JSON-lines input file: one <c>{"key": ..., "value": ...}</c> object per line (an
/// optional "type" names the value's type for display). Blank lines and lines starting with
/// <c>#</c> are skipped.
/// </summary>
/// <remarks>
/// A bad line fails the whole job before anything runs, with the file and line number: the
/// file is read completely first, so a typo on line 90,000 is not found after 89,999 entries
/// went through the pipeline.
/// </remarks>
internal static class InputFile
{
    public static List<InputEntry> Load(string path)
    {
        var entries = new List<InputEntry>();
        var number = 0;
        var lines = UserInput.ReadFile(path, File.ReadLines, ex => new InputFileException($"{path}: cannot read: {ex.Message}"));
        foreach (var line in lines)
        {
            number++;
            var text = line.Trim();
            if (text.Length == 0 || text[0] == '#')
            {
                continue;
            }

            entries.Add(ParseLine(path, number, text));
        }

        return entries;
    }

    public static InputEntry ParseLine(string path, int number, string text)
    {
        using var doc = UserInput.ParseJson(text, ex => new InputFileException($"{path}:{number}: not valid JSON ({ex.Message})"));
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InputFileException($"{path}:{number}: expected an object {{\"key\": ..., \"value\": ...}}");
        }

        if (!root.TryGetProperty("key", out var key) || key.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            throw new InputFileException($"{path}:{number}: missing \"key\" (a string or a number)");
        }

        if (!root.TryGetProperty("value", out var value))
        {
            throw new InputFileException($"{path}:{number}: missing \"value\"");
        }

        foreach (var property in root.EnumerateObject())
        {
            if (property.Name is not ("key" or "value" or "type"))
            {
                throw new InputFileException($"{path}:{number}: unknown field \"{property.Name}\" (expected key, value, type)");
            }
        }

        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return new InputEntry(key.ValueKind == JsonValueKind.String ? key.GetString()! : key.GetRawText(), value.Clone(), type, number);
    }
}

/// <summary>A bad input file line; the message names the file and the line.</summary>
internal sealed class InputFileException : Exception
{
    public InputFileException(string message) : base(message) { }
}

using System.Text.Json;

namespace Jex.Cli.Run;

/// <summary>JSON that a user typed or wrote in a file, parsed with an error that says where it came from.</summary>
internal static class JsonText
{
    /// <summary>
    /// Parses <paramref name="text"/> as one JSON document. A syntax error becomes the exception
    /// <paramref name="error"/> builds, so its message can name the file, line or argument at fault.
    /// </summary>
    public static JsonDocument Parse(string text, Func<JsonException, Exception> error)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw error(e);
        }
    }
}

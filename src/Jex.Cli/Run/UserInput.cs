using System.Text.Json;

namespace Jex.Cli.Run;

/// <summary>
/// What a user hands the CLI (a file, JSON text), read with an error that says where it came from:
/// each caller builds its own exception, so the message names the file, line or argument at fault.
/// </summary>
internal static class UserInput
{
    /// <summary>
    /// Reads <paramref name="path"/> with <paramref name="read"/>. A file that is missing or cannot
    /// be read becomes the exception <paramref name="error"/> builds from the I/O error.
    /// </summary>
    public static T ReadFile<T>(string path, Func<string, T> read, Func<Exception, Exception> error)
    {
        try
        {
            return read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error(e);
        }
    }

    /// <summary>
    /// Parses <paramref name="text"/> as one JSON document. A syntax error becomes the exception
    /// <paramref name="error"/> builds.
    /// </summary>
    public static JsonDocument ParseJson(string text, Func<JsonException, Exception> error)
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

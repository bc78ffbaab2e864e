namespace Jex.Runtime.Configuration;

/// <summary>
/// <c>UserCode:TokenFile</c>: the token read from a file only its owner can read, so a container
/// gets it through a read-only mount instead of its environment (where <c>docker inspect</c> shows it).
/// </summary>
internal static class TokenFile
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Reads the token at <paramref name="path"/>, without its trailing line break. Null and an
    /// error naming the key and the path when the file is missing, empty, a directory, or open to
    /// group or others (it must be mode 0400 or 0600).
    /// </summary>
    public static string? Read(string path, out string? error)
    {
        error = null;
        var prefix = $"UserCode:TokenFile '{path}'";
        if (Directory.Exists(path))
        {
            error = $"{prefix} is a directory; give the token file itself";
            return null;
        }

        if (!File.Exists(path))
        {
            error = $"{prefix} does not exist";
            return null;
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOthers) != 0)
            {
                error = $"{prefix} has mode {ModeString(mode)}, readable or writable by group or others; make it 0400 or 0600 (chmod 0400)";
                return null;
            }
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{prefix} cannot be read: {e.Message}";
            return null;
        }

        var token = text.TrimEnd('\r', '\n');
        if (token.Length == 0 || string.IsNullOrWhiteSpace(token))
        {
            error = $"{prefix} is empty";
            return null;
        }

        return token;
    }

    private static string ModeString(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);
}

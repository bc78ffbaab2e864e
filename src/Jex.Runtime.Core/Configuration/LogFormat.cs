namespace Jex.Runtime.Configuration;

/// <summary>How the runtime writes its own log to stderr (UserCode:LogFormat).</summary>
internal enum LogFormat
{
    /// <summary>Text on a terminal, compact JSON when stderr is redirected; spelled <c>auto</c>.</summary>
    Auto,

    /// <summary>One human-readable line per event; spelled <c>text</c>.</summary>
    Text,

    /// <summary>Serilog's compact JSON, one object per line; spelled <c>json</c>.</summary>
    Json,
}

/// <summary>The spellings of <see cref="LogFormat"/> in configuration.</summary>
internal static class LogFormats
{
    /// <summary>Every spelling, in the order error messages list them.</summary>
    public static readonly IReadOnlyList<string> Names = ["auto", "text", "json"];

    public static string ToName(this LogFormat format) => format switch
    {
        LogFormat.Auto => "auto",
        LogFormat.Text => "text",
        LogFormat.Json => "json",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a log format"),
    };

    /// <summary>Case-insensitive names only: Enum.TryParse would also take "1" or "auto,json".</summary>
    public static bool TryParse(string? value, out LogFormat format)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(value, Names[i], StringComparison.OrdinalIgnoreCase))
            {
                format = (LogFormat)i;
                return true;
            }
        }

        format = default;
        return false;
    }
}

using System.Globalization;
using System.Text;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Writes the one line on stdout that tells the member the runtime is ready:
/// <c>JEX-READY {"transport":...,"address":...,"pid":...,"version":...,"functions":[...]}</c>.
/// Logs go to stderr, so this is the only line on stdout.
/// </summary>
/// <remarks>
/// Startup: the JSON is written by hand, and straight to the stdout stream in one write. Utf8JsonWriter
/// and Console.Out cost a few milliseconds of assembly loading and JIT on the path to ready, for five
/// fields whose escaping is simple.
/// </remarks>
internal static class ReadyLine
{
    public const string Prefix = "JEX-READY ";

    public static string Format(string transport, string address, IEnumerable<string> functions)
    {
        var line = new StringBuilder(256).Append(Prefix).Append("{\"transport\":");
        AppendString(line, transport);
        line.Append(",\"address\":");
        AppendString(line, address);
        line.Append(",\"pid\":").Append(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        line.Append(",\"version\":");
        AppendString(line, RuntimeInfo.Version);
        line.Append(",\"functions\":[");
        var first = true;
        foreach (var f in functions)
        {
            if (!first)
            {
                line.Append(',');
            }

            AppendString(line, f);
            first = false;
        }

        return line.Append("]}").ToString();
    }

    public static void Write(string transport, string address, IEnumerable<string> functions)
    {
        var bytes = Encoding.UTF8.GetBytes(Format(transport, address, functions) + "\n");
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(bytes);
        stdout.Flush();
    }

    /// <summary>A JSON string (RFC 8259): quote, backslash and control characters escaped; the rest as is.</summary>
    internal static void AppendString(StringBuilder json, string value)
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

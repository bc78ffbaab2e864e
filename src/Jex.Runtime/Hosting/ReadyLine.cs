using System.Text;
using System.Text.Json;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Writes the one line on stdout that tells the member the runtime is ready:
/// <c>JEX-READY {"transport":...,"address":...,"pid":...,"version":...,"functions":[...]}</c>.
/// Logs go to stderr, so this is the only line on stdout.
/// </summary>
internal static class ReadyLine
{
    public const string Prefix = "JEX-READY ";

    public static string Format(string transport, string address, IEnumerable<string> functions)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("transport", transport);
            json.WriteString("address", address);
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteString("version", RuntimeInfo.Version);
            json.WriteStartArray("functions");
            foreach (var f in functions)
            {
                json.WriteStringValue(f);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Prefix + Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void Write(string transport, string address, IEnumerable<string> functions)
    {
        var stdout = Console.Out;
        stdout.WriteLine(Format(transport, address, functions));
        stdout.Flush();
    }
}

using System.Text.Json;
using Jex.Runtime.Hosting;

namespace Jex.Runtime.Tests.Hosting;

public sealed class ReadyLineTests
{
    [Fact]
    public void Format_WritesThePrefixAndOneLineOfJsonWithEveryField()
    {
        var line = ReadyLine.Format("grpc", "http://127.0.0.1:5252", ["identity", "burn1us"]);

        Assert.StartsWith("JEX-READY {", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        using var json = JsonDocument.Parse(line["JEX-READY ".Length..]);
        var root = json.RootElement;
        Assert.Equal("grpc", root.GetProperty("transport").GetString());
        Assert.Equal("http://127.0.0.1:5252", root.GetProperty("address").GetString());
        Assert.Equal(Environment.ProcessId, root.GetProperty("pid").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("version").GetString()));
        Assert.Equal(["identity", "burn1us"], root.GetProperty("functions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Format_WithNoFunctions_WritesAnEmptyArray()
    {
        using var json = JsonDocument.Parse(ReadyLine.Format("shared-memory", "/dev/shm/jex-x", [])["JEX-READY ".Length..]);
        Assert.Equal(0, json.RootElement.GetProperty("functions").GetArrayLength());
    }

    [Theory]
    [InlineData("/tmp/with \"quotes\"/and\\backslash.sock")]
    [InlineData("line\nbreak\r\ttab\u0001\u001f")]
    [InlineData("unicode: é ü 日本 \U0001F600")]
    public void Format_EscapesAddressesSoTheyParseBackUnchanged(string address)
    {
        var line = ReadyLine.Format("grpc", "unix:" + address, [address]);

        Assert.DoesNotContain('\n', line);
        using var json = JsonDocument.Parse(line["JEX-READY ".Length..]);
        Assert.Equal("unix:" + address, json.RootElement.GetProperty("address").GetString());
        Assert.Equal(address, json.RootElement.GetProperty("functions")[0].GetString());
    }
}

using System.Text.Json;
using Jex.Protocol.Contract;

namespace Jex.Runtime.Tests.Hosting;

public sealed class ReadyLineTests
{
    private static string Format(string transport, string address, IReadOnlyList<string> functions) =>
        ReadyLine.Format(new RuntimeReadyInfo(transport, address, Environment.ProcessId, "1.2.3", functions));

    [Fact]
    public void Format_WritesThePrefixAndOneLineOfJsonWithEveryField()
    {
        var line = Format("grpc", "http://127.0.0.1:5252", ["identity", "burn1us"]);

        Assert.StartsWith("JEX-READY {", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        using var json = JsonDocument.Parse(line["JEX-READY ".Length..]);
        var root = json.RootElement;
        Assert.Equal("grpc", root.GetProperty("transport").GetString());
        Assert.Equal("http://127.0.0.1:5252", root.GetProperty("address").GetString());
        Assert.Equal(Environment.ProcessId, root.GetProperty("pid").GetInt32());
        Assert.Equal("1.2.3", root.GetProperty("version").GetString());
        Assert.Equal(["identity", "burn1us"], root.GetProperty("functions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Format_WithNoFunctions_WritesAnEmptyArray()
    {
        using var json = JsonDocument.Parse(Format("shared-memory", "/dev/shm/jex-x", [])["JEX-READY ".Length..]);
        Assert.Equal(0, json.RootElement.GetProperty("functions").GetArrayLength());
    }

    [Theory]
    [InlineData("/tmp/with \"quotes\"/and\\backslash.sock")]
    [InlineData("line\nbreak\r\ttab\u0001\u001f")]
    [InlineData("unicode: é ü 日本 \U0001F600")]
    public void FormatThenTryParse_GivesBackTheSameInfo(string address)
    {
        var info = new RuntimeReadyInfo(TransportKind.Grpc.ToWire(), "unix:" + address, 4242, "0.1.0", [address, "identity"]);
        var line = ReadyLine.Format(info);

        Assert.DoesNotContain('\n', line);
        Assert.True(ReadyLine.TryParse(line, out var parsed));
        Assert.Equal(info, parsed);
    }

    [Fact]
    public void Format_WithoutADeployAddress_LeavesTheFieldOut()
    {
        var line = ReadyLine.Format(new RuntimeReadyInfo("grpc", "http://127.0.0.1:1", 1, "1.0", ["f"]));

        Assert.DoesNotContain("deploy", line, StringComparison.Ordinal);
        Assert.True(ReadyLine.TryParse(line, out var info));
        Assert.Null(info!.Deploy);
    }

    [Fact]
    public void Format_WithADeployAddress_WritesItLast_AndTryParseReadsItBack()
    {
        var written = new RuntimeReadyInfo("shared-memory", "/dev/shm/jex-x", 9, "1.0", []) { Deploy = "unix:/dev/shm/jex-x.deploy" };

        var line = ReadyLine.Format(written);

        Assert.EndsWith(""","functions":[],"deploy":"unix:/dev/shm/jex-x.deploy"}""", line, StringComparison.Ordinal);
        Assert.True(ReadyLine.TryParse(line, out var read));
        Assert.Equal(written, read);
        Assert.NotEqual(written with { Deploy = null }, read);
    }

    [Fact]
    public void TryParse_WhenLineHasFieldsItDoesNotKnow_IgnoresThem()
    {
        var ok = ReadyLine.TryParse(
            """JEX-READY {"transport":"shared-memory","address":"/dev/shm/jex-u","pid":7,"version":"9.9.9","functions":["f"],"features":["x"],"startupMs":12.5}""",
            out var info);

        Assert.True(ok);
        Assert.Equal(new RuntimeReadyInfo("shared-memory", "/dev/shm/jex-u", 7, "9.9.9", ["f"]), info);
    }

    [Fact]
    public void TryParse_WhenVersionAndFunctionsAreAbsent_DefaultsThem()
    {
        Assert.True(ReadyLine.TryParse("""JEX-READY {"transport":"grpc","address":"http://127.0.0.1:1","pid":1}""", out var info));
        Assert.Equal(new RuntimeReadyInfo("grpc", "http://127.0.0.1:1", 1, "", []), info);
    }

    [Theory]
    [InlineData("[14:00:00 INF] JEX-READY soon")]
    [InlineData("JEX-READY")]
    [InlineData("")]
    public void TryParse_WhenLineIsNotAReadyLine_IsFalse(string line) =>
        Assert.False(ReadyLine.TryParse(line, out _));

    [Theory]
    [InlineData("""JEX-READY {"transport":"grpc"}""", "missing \"address\"")]
    [InlineData("""JEX-READY {"transport":"grpc","address":"a"}""", "missing \"pid\"")]
    [InlineData("""JEX-READY {"transport":"grpc","address":"a","pid":"12"}""", "\"pid\" must be a Number, found String")]
    [InlineData("""JEX-READY {"transport":"grpc","address":"a","pid":99999999999}""", "\"pid\" is not a 32-bit integer: 99999999999")]
    [InlineData("""JEX-READY {"transport":5,"address":"a","pid":1}""", "\"transport\" must be a String, found Number")]
    [InlineData("""JEX-READY ["grpc"]""", "expected a JSON object after \"JEX-READY\", found Array")]
    [InlineData("""JEX-READY {"transport":""", "not valid JSON")]
    public void TryParse_WhenTheReadyLineIsMalformed_ThrowsNamingWhatIsWrong(string line, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => ReadyLine.TryParse(line, out _));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}

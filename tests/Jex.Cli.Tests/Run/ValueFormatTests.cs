using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Jex.Cli.Run;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Run;

public sealed class ValueFormatTests
{
    private static string Written(IValueFormat format, string bytes, Format valueFormat)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            format.WriteValue(writer, ByteString.CopyFromUtf8(bytes), valueFormat);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Theory]
    [InlineData("json", "{\"a\":[1,2]}", Format.Json, "{\"a\":[1,2]}")]
    [InlineData("json", "plain", Format.Text, "\"plain\"")]
    [InlineData("json", "hi", Format.Bytes, "\"aGk=\"")]
    [InlineData("text", "{\"a\":[1,2]}", Format.Json, "{\"a\":[1,2]}")]
    [InlineData("text", "plain", Format.Text, "\"plain\"")]
    [InlineData("text", "hi", Format.Bytes, "\"aGk=\"")]
    public void WriteValue_WritesTheBytesAsJsonByTheirFormat(string name, string bytes, Format valueFormat, string expected) =>
        Assert.Equal(expected, Written(ValueFormats.Create(name), bytes, valueFormat));

    [Theory]
    [InlineData("json")]
    [InlineData("text")]
    public void WriteValue_WithBytesMarkedJsonThatAreNot_Throws(string name) =>
        Assert.ThrowsAny<JsonException>(() => Written(ValueFormats.Create(name), "{not json", Format.Json));
}

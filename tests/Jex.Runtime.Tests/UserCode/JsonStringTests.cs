using System.Text;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Tests.UserCode;

/// <summary>A <c>string</c> in FORMAT_JSON is a JSON string literal, both as a parameter and as a result.</summary>
public sealed class JsonStringTests
{
    public static class Functions
    {
        [ThreadStatic]
        public static string? Received;

        public static string Echo(string s)
        {
            Received = s;
            return s;
        }
    }

    private static readonly FunctionInvoker Echo =
        FunctionInvokerFactory.Create(typeof(Functions).GetMethod(nameof(Functions.Echo))!, null, new PayloadCodecs());

    private static async Task<Output> InvokeAsync(string payload, Format format)
    {
        var context = FunctionInvokerFactoryTests.NewContext(format);
        context.MoveTo(new Item { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8(payload) });
        Functions.Received = null;
        await Echo.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Assert.Single(context.OutputMessages());
    }

    private static async Task<PayloadBindingException> FailAsync(string payload)
    {
        var context = FunctionInvokerFactoryTests.NewContext(Format.Json);
        context.MoveTo(new Item { Value = ByteString.CopyFromUtf8(payload) });
        return await Assert.ThrowsAsync<PayloadBindingException>(() => Echo.InvokeAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task JsonStringLiteral_BindsToItsValue_AndTheResultIsWrittenAsAJsonString()
    {
        var output = await InvokeAsync("\"abc\"", Format.Json);

        Assert.Equal("abc", Functions.Received);
        Assert.Equal(Format.Json, output.ValueFormat);
        Assert.Equal("\"abc\""u8.ToArray(), output.Value.ToByteArray());
    }

    [Fact]
    public async Task JsonStringEscapes_AreDecodedOnTheWayIn_AndWrittenEscapedOnTheWayOut()
    {
        var output = await InvokeAsync("  \"tab\\there \\\"q\\\" back\\\\slash \\u00e9\\n\"  ", Format.Json);

        Assert.Equal("tab\there \"q\" back\\slash é\n", Functions.Received);
        Assert.Equal("\"tab\\there \\u0022q\\u0022 back\\\\slash \\u00E9\\n\"", Encoding.UTF8.GetString(output.Value.Span));
    }

    [Fact]
    public async Task TextFormat_StillPassesTheRawText_QuotesIncluded()
    {
        var output = await InvokeAsync("\"abc\"", Format.Text);

        Assert.Equal("\"abc\"", Functions.Received);
        Assert.Equal(Format.Text, output.ValueFormat);
        Assert.Equal("\"abc\""u8.ToArray(), output.Value.ToByteArray());
    }

    [Theory]
    [InlineData("{\"a\":1}", "an object")]
    [InlineData("[1,2]", "an array")]
    [InlineData("42", "a number")]
    [InlineData("true", "a boolean")]
    public async Task NonStringJson_IsAnItemErrorNamingTheFunctionAndTheKind_AndSuggestingText(string payload, string kind)
    {
        var e = await FailAsync(payload);

        Assert.Equal(ItemError.Types.Code.Decode, e.Code);
        Assert.Equal(
            $"function 'f' takes a string, but the JSON item is {kind}, not a string; set the transform's format to text to receive the raw text, or take a class or JsonElement parameter",
            e.Message);
    }

    [Fact]
    public async Task TextThatIsNotJson_IsAnItemErrorSuggestingText()
    {
        var e = await FailAsync("plain words");

        Assert.StartsWith("function 'f' takes a string, but the item is not valid JSON: ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("if the items are plain text, set the transform's format to text", e.Message, StringComparison.Ordinal);
    }
}

using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.UserCode;
using Jex.UserCode;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using ProtoLogLevel = Jex.Protocol.V1.LogLevel;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// Which user log records reach the member: Init.log_level when the member sets it, else the
/// runtime's own level for the UserCode category (as usercode.proto promises).
/// </summary>
public sealed class SessionLogLevelTests
{
    public static class Functions
    {
        public static string Levels(string value, IJexContext context)
        {
            context.Logger.LogDebug("debug");
            context.Logger.LogInformation("information");
            context.Logger.LogWarning("warning");
            return value;
        }
    }

    [Theory]
    [InlineData(LogLevel.Warning, new[] { "warning" })]
    [InlineData(LogLevel.Debug, new[] { "debug", "information", "warning" })]
    [InlineData(LogLevel.Information, new[] { "information", "warning" })]
    public async Task AnUnspecifiedLogLevel_ForwardsAtTheRuntimesLevelForTheUserCodeCategory(LogLevel userCodeLevel, string[] forwarded)
    {
        // The runtime's own records stay at Information: only the UserCode category differs.
        var messages = await ForwardedAsync(ProtoLogLevel.Unspecified, b => b.SetMinimumLevel(LogLevel.Information).AddFilter("UserCode", userCodeLevel));
        Assert.Equal(forwarded, messages);
    }

    [Fact]
    public async Task AnExplicitLogLevel_WinsOverTheRuntimesLevel()
    {
        var messages = await ForwardedAsync(ProtoLogLevel.Debug, b => b.SetMinimumLevel(LogLevel.Warning));
        Assert.Equal(["debug", "information", "warning"], messages);
    }

    [Fact]
    public void LowestEnabledLevel_OfALoggerThatLogsNothing_IsNone()
    {
        using var factory = LoggerFactory.Create(b => b.AddFilter("UserCode", LogLevel.None));
        Assert.Equal(LogLevel.None, SessionHandshake.LowestEnabledLevel(factory.CreateLogger("UserCode.f")));
    }

    private static async Task<List<string>> ForwardedAsync(ProtoLogLevel level, Action<ILoggingBuilder> logging)
    {
        await using var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), new RuntimeCounters(), logging, nameof(Functions.Levels));
        var init = SessionHarness.InitFor(nameof(Functions.Levels), Format.Text);
        init.LogLevel = level;
        await harness.InitAsync(init);
        await harness.SendAsync(new MemberMessage { Batch = new Batch { Id = 1, Items = { new Item { Value = ByteString.CopyFromUtf8("x") } } } });
        var messages = new List<string>();
        RuntimeMessage message;
        while ((message = await harness.ReadAsync()).Result is null)
        {
            messages.Add(message.Log.Message);
        }

        return messages;
    }
}

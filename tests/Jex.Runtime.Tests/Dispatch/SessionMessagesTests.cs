using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Tests.UserCode.Hazelcast;
using Jex.Runtime.UserCode;
using Jex.UserCode;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>What a session says about itself: why it was refused, and in which formats it reads and writes.</summary>
public sealed class SessionMessagesTests
{
    public static class Functions
    {
        public static OtherThing DoThing(SomeThing input) => new() { Value = $"__{input.Value}__" };

        public static MapEntry<string, OtherThing> DoThingEntry(MapEntry<string, SomeThing> entry) =>
            new(entry.Key, new OtherThing { Value = entry.Key });
    }

    private static SessionHarness Start() =>
        new(typeof(Functions), HazelcastBindingTests.NewCodecs(), nameof(Functions.DoThing), nameof(Functions.DoThingEntry));

    [Theory]
    [InlineData("", "Init carries no token, but this runtime requires one (UserCode:Token or UserCode:TokenFile is set); send the runtime's token in Init: for jex run against a passthru runtime, pass --token or set UserCode__Token in its environment")]
    [InlineData("nope", "Init carries a wrong token: it is not this runtime's UserCode:Token (or the content of UserCode:TokenFile); give the member the same token: for jex run against a passthru runtime, --token or UserCode__Token")]
    public async Task MissingOrWrongToken_IsRefusedSayingWhereTheTokenComesFrom(string token, string expected)
    {
        await using var harness = Start();

        await harness.SendAsync(new MemberMessage { Init = SessionHarness.InitFor(nameof(Functions.DoThing), Format.Json, token) });
        var e = await Assert.ThrowsAsync<SessionRejectedException>(() => harness.Session.WaitAsync(SessionHarness.Timeout));

        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal(expected, e.Message);
    }

    [Theory]
    [InlineData(Format.Json, "json:SomeThing", "json:OtherThing")]
    [InlineData(Format.Hazelcast, "compact:some-thing", "compact:other-thing")]
    public async Task Ready_DescribesTheSignatureInTheSessionsFormat(Format format, string input, string output)
    {
        await using var harness = Start();

        var ready = await harness.InitAsync(SessionHarness.InitFor(nameof(Functions.DoThing), format));
        await harness.EndAsync();

        Assert.Equal((input, output), (ready.Signature.Input, ready.Signature.Output));
        Assert.Contains(harness.Logs.Entries, e => e.EventId.Id == 300 && e.Message.Contains($"function=DoThing ({input} -> {output})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ready_DescribesAnEntryWithTheKeyAndValueFormats()
    {
        await using var harness = Start();
        var init = SessionHarness.InitFor(nameof(Functions.DoThingEntry), Format.Json);

        var ready = await harness.InitAsync(init);

        Assert.Equal("entry<string,json:SomeThing>", ready.Signature.Input);
        Assert.Equal("entry<string,json:OtherThing>", ready.Signature.Output);
    }

    [Fact]
    public void LoadTimeSignature_NamesEveryFormatTheTypeBindsIn()
    {
        var invoker = FunctionInvokerFactory.Create(typeof(Functions).GetMethod(nameof(Functions.DoThing))!, null, HazelcastBindingTests.NewCodecs());

        Assert.Equal("json:SomeThing or compact:some-thing", invoker.Signature.Input);
        Assert.Equal("json:OtherThing or compact:other-thing", invoker.Signature.Output);
    }
}

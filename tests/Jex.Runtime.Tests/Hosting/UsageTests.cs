using System.Reflection;
using System.Text.RegularExpressions;
using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Jex.Runtime.Hosting;

namespace Jex.Runtime.Tests.Hosting;

public sealed class UsageTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public void TryAnswer_HelpSwitch_WritesUsageAndExitsZero(string argument)
    {
        using var output = new StringWriter();
        Assert.Equal(0, Usage.TryAnswer(["--UserCode:Path=/x", argument], output));
        Assert.StartsWith("Usage: jex-runtime [--UserCode:Key=value ...]", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryAnswer_Version_WritesOneLineWithTheProtocol()
    {
        using var output = new StringWriter();
        Assert.Equal(0, Usage.TryAnswer(["--version"], output));
        var line = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(new Regex(@"^jex-runtime \d+\.\d+\.\d+\S* \(protocol \d+\)$"), line);
        Assert.EndsWith($"(protocol {ProtocolContract.Version})", line, StringComparison.Ordinal);
        Assert.DoesNotContain('+', line);
    }

    [Fact]
    public void TryAnswer_OrdinaryArguments_AreLeftToTheRuntime()
    {
        using var output = new StringWriter();
        Assert.Null(Usage.TryAnswer(["--UserCode:Path=/x", "--UserCode:Grpc:Port=0"], output));
        Assert.Empty(output.ToString());
    }

    [Fact]
    public void Help_ListsEveryKeyTheOptionsBind()
    {
        var help = Usage.Help();
        foreach (var key in Leaves(typeof(UserCodeOptions), UserCodeOptions.Section))
        {
            Assert.Contains("  " + key + " ", help, StringComparison.Ordinal);
        }

        Assert.Equal(Leaves(typeof(UserCodeOptions), string.Empty).Count(), Usage.Keys().Count);
    }

    [Fact]
    public void Help_ShowsTheDefaultsTheOptionsHave()
    {
        var help = Usage.Help().Split('\n');
        Assert.Matches(new Regex(@"^  UserCode:Transport +grpc +grpc or shared-memory"), Line(help, "UserCode:Transport "));
        Assert.Matches(new Regex(@"^  UserCode:DrainTimeoutSeconds +30 "), Line(help, "UserCode:DrainTimeoutSeconds "));
        Assert.Matches(new Regex(@"^  UserCode:LogFormat +auto +auto, text, json"), Line(help, "UserCode:LogFormat "));
        Assert.Matches(new Regex(@"^  UserCode:MaxInFlight +16 "), Line(help, "UserCode:MaxInFlight "));
        Assert.Matches(new Regex(@"^  UserCode:Grpc:Address +127\.0\.0\.1 "), Line(help, "UserCode:Grpc:Address "));
    }

    [Fact]
    public void Help_ExplainsTheSourcesTheReadyLineAndTheExitCodes()
    {
        var help = Usage.Help();
        Assert.Contains("--UserCode:Key=value", help, StringComparison.Ordinal);
        Assert.Contains("UserCode__Key=value", help, StringComparison.Ordinal);
        Assert.Contains("JEX-READY {", help, StringComparison.Ordinal);
        foreach (var code in new[] { "0", "1", "2", "3" })
        {
            Assert.Contains($"\n  {code}  ", help, StringComparison.Ordinal);
        }
    }

    private static string Line(string[] lines, string key) => Assert.Single(lines, l => l.StartsWith("  " + key, StringComparison.Ordinal));

    /// <summary>Every configuration key a type binds: its settable properties, nested classes expanded.</summary>
    private static IEnumerable<string> Leaves(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = prefix.Length == 0 ? property.Name : prefix + ":" + property.Name;
            var t = property.PropertyType;
            if (t.IsClass && t != typeof(string))
            {
                foreach (var leaf in Leaves(t, key))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return key;
            }
        }
    }
}

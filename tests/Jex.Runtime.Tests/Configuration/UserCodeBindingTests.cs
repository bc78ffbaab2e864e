using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Jex.Runtime.UserCode;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Configuration;

public sealed class UserCodeBindingTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    private static FunctionCatalog NoCatalog(IServiceProvider services) => throw new InvalidOperationException("options tests load no user code");

    private static (UserCodeOptions Options, List<string> Problems) Bind(params (string Key, string Value)[] values)
    {
        var problems = new List<string>();
        var options = UserCodeBinding.Bind(Settings(values), problems);
        return (options, problems);
    }

    [Theory]
    [InlineData("grpc", nameof(TransportKind.Grpc))]
    [InlineData("shared-memory", nameof(TransportKind.SharedMemory))]
    [InlineData("Shared-Memory", nameof(TransportKind.SharedMemory))]
    public void Transport_AsSpelledInJobsAndTheReadyLine_BindsToItsKind(string value, string kind)
    {
        var (options, problems) = Bind(("UserCode:Transport", value), ("UserCode:Uid", "u1"));
        Assert.Empty(problems);
        Assert.Equal(Enum.Parse<TransportKind>(kind), options.Transport);
        Assert.Equal("u1", options.Uid);
    }

    [Theory]
    [InlineData("carrier-pigeon")]
    [InlineData("SharedMemory")]
    [InlineData("1")]
    public void Transport_Unknown_IsOneLineNamingTheKeyTheValueAndTheChoices(string value)
    {
        var (options, problems) = Bind(("UserCode:Transport", value), ("UserCode:MaxInFlight", "8"));
        Assert.Equal([$"UserCode:Transport '{value}' is not supported; use one of: grpc, shared-memory"], problems);
        Assert.Equal(TransportKind.Grpc, options.Transport);
        Assert.Equal(8, options.MaxInFlight);
    }

    [Theory]
    [InlineData("json", nameof(LogFormat.Json))]
    [InlineData("TEXT", nameof(LogFormat.Text))]
    [InlineData("auto", nameof(LogFormat.Auto))]
    public void LogFormat_BindsToItsEnum(string value, string format)
    {
        var (options, problems) = Bind(("UserCode:LogFormat", value));
        Assert.Empty(problems);
        Assert.Equal(Enum.Parse<LogFormat>(format), options.LogFormat);
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("2")]
    [InlineData("text,json")]
    public void LogFormat_Unknown_IsOneLineListingTheFormats(string value)
    {
        var (options, problems) = Bind(("UserCode:LogFormat", value));
        Assert.Equal([$"UserCode:LogFormat '{value}' is not one of auto, text, json"], problems);
        Assert.Equal(LogFormat.Auto, options.LogFormat);
    }

    [Fact]
    public void ValuesOfTheWrongType_AreEachOneLine_AndTheRestStillBinds()
    {
        var (options, problems) = Bind(
            ("UserCode:MaxInFlight", "lots"),
            ("UserCode:Grpc:Port", "http"),
            ("UserCode:AllowAnonymous", "maybe"),
            ("UserCode:ParentPid", "me"),
            ("UserCode:MaxSessions", "12"));
        string[] expected =
        [
            "UserCode:AllowAnonymous 'maybe' is not true or false",
            "UserCode:Grpc:Port 'http' is not a whole number",
            "UserCode:MaxInFlight 'lots' is not a whole number",
            "UserCode:ParentPid 'me' is not a whole number",
        ];
        // The binder meets the keys in its own order; each is reported once.
        Assert.Equal(expected, problems.Order(StringComparer.Ordinal));
        Assert.Equal(16, options.MaxInFlight);
        Assert.Equal(0, options.Grpc.Port);
        Assert.Null(options.ParentPid);
        Assert.Equal(12, options.MaxSessions);
    }

    [Fact]
    public void Host_WithABadValue_FailsItsOptionsWithOneFailurePerProblem()
    {
        var services = new ServiceCollection();
        services.AddJexRuntime(Settings(("UserCode:Transport", "pigeon"), ("UserCode:Path", AppContext.BaseDirectory), ("UserCode:MaxInFlight", "0")), NoCatalog);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<UserCodeOptions>>().Value);
        Assert.Equal(["UserCode:Transport 'pigeon' is not supported; use one of: grpc, shared-memory"], e.Failures);
    }

    [Fact]
    public void Host_WithAnInvalidSetting_FailsThroughTheValidator()
    {
        var services = new ServiceCollection();
        services.AddJexRuntime(Settings(("UserCode:Path", AppContext.BaseDirectory), ("UserCode:MaxInFlight", "0"), ("UserCode:DrainTimeoutSeconds", "-5")), NoCatalog);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<UserCodeOptions>>().Value);
        Assert.Equal(
            ["UserCode:MaxInFlight 0 is out of range 1..1024", "UserCode:DrainTimeoutSeconds -5 is out of range 0..3600: the seconds a stop waits for open sessions to drain"],
            e.Failures);
    }

    [Fact]
    public void Host_WithSharedMemorySpelledAsInJobs_BindsAndValidates()
    {
        var services = new ServiceCollection();
        services.AddJexRuntime(Settings(("UserCode:Path", AppContext.BaseDirectory), ("usercode:transport", "shared-memory"), ("UserCode:Uid", "abc"), ("UserCode:LogFormat", "json")), NoCatalog);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<UserCodeOptions>>().Value;
        Assert.Equal(TransportKind.SharedMemory, options.Transport);
        Assert.Equal(LogFormat.Json, options.LogFormat);
    }

    [Fact]
    public void SharedMemoryWait_IsBoundAsWritten()
    {
        var (options, problems) = Bind(("UserCode:SharedMemory:Wait", "spin"));
        Assert.Empty(problems);
        Assert.Equal("spin", options.SharedMemory.Wait);
    }
}

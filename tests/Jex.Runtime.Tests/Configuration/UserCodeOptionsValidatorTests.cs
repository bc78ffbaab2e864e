using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Tests.Configuration;

public sealed class UserCodeOptionsValidatorTests
{
    private static UserCodeOptions Valid() => new() { Path = AppContext.BaseDirectory };

    [Fact]
    public void Defaults_WithAnExistingPath_AreValid() => Assert.Empty(UserCodeOptionsValidator.Validate(Valid()));

    [Fact]
    public void SharedMemory_WithoutUid_NamesTheKey()
    {
        var o = Valid();
        o.Transport = TransportKind.SharedMemory;
        Assert.Equal(["UserCode:Uid is required with UserCode:Transport=shared-memory"], UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void SocketInAMissingDirectory_NamesTheDirectory()
    {
        var o = Valid();
        o.Grpc.Socket = "/no/such/dir/jex.sock";
        Assert.Contains("directory '/no/such/dir' does not exist", Assert.Single(UserCodeOptionsValidator.Validate(o)), StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralProblems_AreAllReported()
    {
        var o = new UserCodeOptions { Transport = (TransportKind)7, Path = null, MaxInFlight = 0, LogFormat = (LogFormat)9 };
        o.Grpc.Address = "not-an-ip";
        var errors = UserCodeOptionsValidator.Validate(o);
        Assert.Equal(5, errors.Count);
        Assert.Contains("UserCode:Transport '7' is not supported; use one of: grpc, shared-memory", errors);
        Assert.Contains(errors, e => e.StartsWith("UserCode:Grpc:Address 'not-an-ip'", StringComparison.Ordinal));
        Assert.Contains("UserCode:LogFormat '9' is not one of auto, text, json", errors);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3601)]
    public void DrainTimeoutSeconds_OutOfRange_NamesTheKeyTheValueAndTheRange(int seconds)
    {
        var o = Valid();
        o.DrainTimeoutSeconds = seconds;
        Assert.Equal(
            [$"UserCode:DrainTimeoutSeconds {seconds} is out of range 0..3600: the seconds a stop waits for open sessions to drain"],
            UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3600)]
    public void DrainTimeoutSeconds_AtTheEndsOfItsRange_IsValid(int seconds)
    {
        var o = Valid();
        o.DrainTimeoutSeconds = seconds;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void LogLevel_Unknown_ListsTheLevels()
    {
        var o = Valid();
        o.LogLevel = "loud";
        Assert.Equal(["UserCode:LogLevel 'loud' is not one of Verbose, Debug, Information, Warning, Error, Fatal"], UserCodeOptionsValidator.Validate(o));
    }

    [Theory]
    [InlineData("warning")]
    [InlineData("Verbose")]
    [InlineData("FATAL")]
    public void LogLevel_AnyCaseOfALevel_IsValid(string level)
    {
        var o = Valid();
        o.LogLevel = level;
        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void AsIValidateOptions_FailsWithEveryProblem()
    {
        var o = Valid();
        o.MaxInFlight = 0;
        o.LogLevel = "loud";
        var result = new UserCodeOptionsValidator().Validate(Options.DefaultName, o);
        Assert.True(result.Failed);
        Assert.Equal(["UserCode:MaxInFlight 0 is out of range 1..1024", "UserCode:LogLevel 'loud' is not one of Verbose, Debug, Information, Warning, Error, Fatal"], result.Failures);
        Assert.True(new UserCodeOptionsValidator().Validate(Options.DefaultName, Valid()).Succeeded);
    }
}

using Jex.Runtime.Configuration;

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
        o.Transport = "shared-memory";
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
        var o = new UserCodeOptions { Transport = "x", Path = null, MaxInFlight = 0, LogFormat = "xml" };
        o.Grpc.Address = "not-an-ip";
        var errors = UserCodeOptionsValidator.Validate(o);
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("UserCode:Grpc:Address 'not-an-ip'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("UserCode:LogFormat 'xml'", StringComparison.Ordinal));
    }
}

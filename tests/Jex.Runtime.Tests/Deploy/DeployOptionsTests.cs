using Jex.Runtime.Configuration;

namespace Jex.Runtime.Tests.Deploy;

public sealed class DeployOptionsTests
{
    [Fact]
    public void DeployEnabled_WithoutPath_IsValid_SoTheRuntimeStartsEmpty()
    {
        var o = new UserCodeOptions { Token = "t", Deploy = { Enabled = true } };

        Assert.Empty(UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void NoPath_WithoutDeploy_IsRefused_NamingTheWayToStartEmpty()
    {
        var error = Assert.Single(UserCodeOptionsValidator.Validate(new UserCodeOptions()));

        Assert.Contains("UserCode:Path is required", error, StringComparison.Ordinal);
        Assert.Contains("UserCode:Deploy:Enabled=true", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DeployEnabled_WithoutAToken_IsRefused()
    {
        var error = Assert.Single(UserCodeOptionsValidator.Validate(new UserCodeOptions { Deploy = { Enabled = true } }));

        Assert.StartsWith("UserCode:Deploy:Enabled=true needs UserCode:Token or UserCode:TokenFile", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DeployLimits_OutOfRange_AreNamed()
    {
        var o = new UserCodeOptions { Path = AppContext.BaseDirectory, Deploy = { MaxBytes = 10, MaxFiles = 0 } };

        Assert.Equal(
            ["UserCode:Deploy:MaxBytes 10 is out of range 1024..2147483647", "UserCode:Deploy:MaxFiles 0 is out of range 1..1000000"],
            UserCodeOptionsValidator.Validate(o));
    }

    [Fact]
    public void CodeDir_ThatIsAFile_IsRefused()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = Assert.Single(UserCodeOptionsValidator.Validate(new UserCodeOptions { Path = AppContext.BaseDirectory, CodeDir = file }));
            Assert.Equal($"UserCode:CodeDir '{file}' is a file; give a folder (it is created when missing)", error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;

namespace Jex.Runtime.Tests.Configuration;

public sealed class ChannelSecurityRulesTests
{
    private static UserCodeOptions Options(string address, string? token = null, string? tokenFile = null, bool allowAnonymous = false)
    {
        var o = new UserCodeOptions { Path = AppContext.BaseDirectory, Token = token, TokenFile = tokenFile, AllowAnonymous = allowAnonymous };
        o.Grpc.Address = address;
        return o;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.3.4.5")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("localhost")]
    public void NoToken_Loopback_IsAllowed(string address) =>
        Assert.Empty(ChannelSecurityRules.Validate(Options(address)));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("10.1.2.3")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("fe80::1")]
    public void NoToken_NotLoopback_IsRefusedNamingTheKeys(string address)
    {
        var error = Assert.Single(ChannelSecurityRules.Validate(Options(address)));
        Assert.StartsWith($"UserCode:Grpc:Address '{address}' is not a loopback address and no token is configured", error, StringComparison.Ordinal);
        Assert.Contains("UserCode:Token (or UserCode:TokenFile)", error, StringComparison.Ordinal);
        Assert.Contains("UserCode:AllowAnonymous=true", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NotLoopback_WithTokenOrTokenFileOrAllowAnonymous_IsAllowed()
    {
        Assert.Empty(ChannelSecurityRules.Validate(Options("0.0.0.0", token: "t")));
        Assert.Empty(ChannelSecurityRules.Validate(Options("0.0.0.0", tokenFile: "/run/secrets/jex-token")));
        Assert.Empty(ChannelSecurityRules.Validate(Options("0.0.0.0", allowAnonymous: true)));
        Assert.True(ChannelSecurityRules.IsAnonymousOnNetwork(Options("0.0.0.0", allowAnonymous: true)));
    }

    [Fact]
    public void NoToken_UnixSocketOrSharedMemory_IsAllowed()
    {
        var socket = Options("0.0.0.0");
        socket.Grpc.Socket = "/tmp/jex.sock";
        Assert.Empty(ChannelSecurityRules.Validate(socket));

        var shm = Options("0.0.0.0");
        shm.Transport = TransportKind.SharedMemory;
        Assert.Empty(ChannelSecurityRules.Validate(shm));
    }

    [Fact]
    public void ClientCertificates_NeedTlsAndAnAuthority()
    {
        var o = Options("127.0.0.1");
        o.Grpc.ClientCertificate.Mode = "require";
        var errors = ChannelSecurityRules.Validate(o).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("needs TLS: set UserCode:Grpc:Certificate:Path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("needs UserCode:Grpc:ClientCertificate:AuthorityPath", StringComparison.Ordinal));

        o.Grpc.Certificate.Path = "/etc/jex/server.pem";
        o.Grpc.ClientCertificate.AuthorityPath = "/etc/jex/ca.pem";
        Assert.Empty(ChannelSecurityRules.Validate(o));
    }

    [Fact]
    public void Tls_WithAUnixSocket_IsRefused()
    {
        var o = Options("127.0.0.1");
        o.Grpc.Socket = "/tmp/jex.sock";
        o.Grpc.Certificate.Path = "/etc/jex/server.pem";
        Assert.Contains("applies to TCP only", Assert.Single(ChannelSecurityRules.Validate(o)), StringComparison.Ordinal);
    }
}

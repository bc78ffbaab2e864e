using System.Net;
using Jex.Protocol.Contract;

namespace Jex.Runtime.Configuration;

/// <summary>
/// The configuration rules of channel security (docs/security.md): who may reach the gRPC
/// listener without a token, and whether the TLS settings fit together. Files are checked when
/// they are loaded (<c>Hosting/GrpcEndpoint</c>), so each failure can name what it found.
/// </summary>
internal static class ChannelSecurityRules
{
    public static IEnumerable<string> Validate(UserCodeOptions o)
    {
        var isGrpc = o.Transport == TransportKind.Grpc;
        // An address that is not one is reported by the validator already.
        if (isGrpc && IsAnonymousOnNetwork(o) && !o.AllowAnonymous && IPAddress.TryParse(o.Grpc.Address, out _))
        {
            yield return $"UserCode:Grpc:Address '{o.Grpc.Address}' is not a loopback address and no token is configured: "
                + "set UserCode:Token (or UserCode:TokenFile) so that only members with the token are served, "
                + "or set UserCode:AllowAnonymous=true to serve anyone who can reach that address";
        }

        var certificate = o.Grpc.Certificate;
        var client = o.Grpc.ClientCertificate;
        var hasCertificate = !string.IsNullOrWhiteSpace(certificate.Path);
        if (!hasCertificate && (!string.IsNullOrWhiteSpace(certificate.KeyPath) || !string.IsNullOrEmpty(certificate.Password)))
        {
            yield return "UserCode:Grpc:Certificate:KeyPath and :Password need UserCode:Grpc:Certificate:Path (the certificate)";
        }

        if (hasCertificate && o.Grpc.Socket is not null)
        {
            yield return "UserCode:Grpc:Certificate:Path applies to TCP only; with UserCode:Grpc:Socket the socket file's mode (0600) "
                + "protects the channel: remove one of the two";
        }

        if (!GrpcClientCertificateOptions.Modes.Contains(client.Mode, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"UserCode:Grpc:ClientCertificate:Mode '{client.Mode}' is not one of none, allow, require";
        }
        else if (!string.Equals(client.Mode, "none", StringComparison.OrdinalIgnoreCase))
        {
            if (!hasCertificate)
            {
                yield return $"UserCode:Grpc:ClientCertificate:Mode={client.Mode} needs TLS: set UserCode:Grpc:Certificate:Path";
            }

            if (string.IsNullOrWhiteSpace(client.AuthorityPath))
            {
                yield return $"UserCode:Grpc:ClientCertificate:Mode={client.Mode} needs UserCode:Grpc:ClientCertificate:AuthorityPath, "
                    + "the PEM file of the authority that issues member certificates";
            }
        }
    }

    /// <summary>
    /// No token is configured and the listener is TCP on an address other hosts (or, for an
    /// unspecified address, other interfaces) can reach. A Unix socket is guarded by its mode.
    /// </summary>
    public static bool IsAnonymousOnNetwork(UserCodeOptions o) =>
        string.IsNullOrEmpty(o.Token) && string.IsNullOrWhiteSpace(o.TokenFile)
        && o.Grpc.Socket is null && !IsLoopback(o.Grpc.Address);

    public static bool IsLoopback(string address)
    {
        if (string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!IPAddress.TryParse(address, out var ip))
        {
            // Not an address at all: the validator reports that; it is not loopback either.
            return false;
        }

        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        return IPAddress.IsLoopback(ip);
    }
}

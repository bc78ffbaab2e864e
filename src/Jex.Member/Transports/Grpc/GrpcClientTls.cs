using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Jex.Member.Transports.Grpc;

/// <summary>
/// How the member connects to a runtime whose listener speaks TLS (<c>https://</c>): the
/// authority that issued the runtime's certificate and, for mutual TLS, the member's own
/// certificate. Files are PEM. Loaded once, when the connector is created, so a bad file fails
/// the job at start with the file's name rather than at every connection.
/// </summary>
internal sealed class GrpcClientTls
{
    private readonly X509Certificate2Collection? _authorities;
    private readonly X509Certificate2? _clientCertificate;

    private GrpcClientTls(X509Certificate2Collection? authorities, X509Certificate2? clientCertificate)
    {
        _authorities = authorities;
        _clientCertificate = clientCertificate;
    }

    /// <summary>
    /// <paramref name="authorityPath"/>: PEM certificates to trust for the runtime (null: the
    /// machine's trust store). <paramref name="certificatePath"/> and <paramref name="keyPath"/>:
    /// the member's certificate and key for mutual TLS (the key may follow the certificate in one
    /// file).
    /// </summary>
    public static GrpcClientTls Load(string? authorityPath, string? certificatePath = null, string? keyPath = null)
    {
        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrEmpty(authorityPath))
        {
            authorities = [];
            try
            {
                authorities.ImportFromPemFile(authorityPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ArgumentException($"TLS authority file '{authorityPath}' cannot be read: {e.Message}", nameof(authorityPath), e);
            }

            if (authorities.Count == 0)
            {
                throw new ArgumentException($"TLS authority file '{authorityPath}' holds no PEM certificate", nameof(authorityPath));
            }
        }

        X509Certificate2? client = null;
        if (!string.IsNullOrEmpty(certificatePath))
        {
            try
            {
                client = X509Certificate2.CreateFromPemFile(certificatePath, string.IsNullOrEmpty(keyPath) ? null : keyPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ArgumentException($"TLS client certificate '{certificatePath}' (key '{keyPath ?? certificatePath}') cannot be loaded: {e.Message}", nameof(certificatePath), e);
            }
        }

        return new GrpcClientTls(authorities, client);
    }

    public void Apply(SocketsHttpHandler handler)
    {
        var ssl = new SslClientAuthenticationOptions
        {
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        };
        if (_clientCertificate is not null)
        {
            ssl.ClientCertificates = [_clientCertificate];
        }

        if (_authorities is { } authorities)
        {
            // Only the given authorities: a runtime's certificate is from a private CA, and a
            // certificate from a public CA must not stand in for it.
            ssl.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            ssl.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        }

        handler.SslOptions = ssl;
    }
}

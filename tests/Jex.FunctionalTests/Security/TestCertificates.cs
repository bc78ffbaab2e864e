using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Jex.FunctionalTests.Infrastructure;

namespace Jex.FunctionalTests.Security;

/// <summary>
/// A private certificate authority made for one test, written as PEM files to a temp directory:
/// a CA, a server certificate for 127.0.0.1 and localhost, a client certificate the CA issued,
/// and a client certificate from another CA that the runtime must refuse. Removed on dispose.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaPath => Path.Combine(Directory, "ca.pem");

    public string ServerCertificatePath => Path.Combine(Directory, "server.pem");

    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    public string ClientCertificatePath => Path.Combine(Directory, "client.pem");

    public string ClientKeyPath => Path.Combine(Directory, "client.key");

    /// <summary>The server certificate and key as PKCS#12, encrypted with <see cref="PfxPassword"/>.</summary>
    public string ServerPfxPath => Path.Combine(Directory, "server.pfx");

    public string PfxPassword => "pfx-password";

    public string RogueClientCertificatePath => Path.Combine(Directory, "rogue-client.pem");

    public string RogueClientKeyPath => Path.Combine(Directory, "rogue-client.key");

    /// <summary>The runtime's switches for TLS with this server certificate.</summary>
    public string[] ServerArguments =>
    [
        $"--UserCode:Grpc:Certificate:Path={ServerCertificatePath}",
        $"--UserCode:Grpc:Certificate:KeyPath={ServerKeyPath}",
    ];

    public static TestCertificates Create()
    {
        var certificates = new TestCertificates(Paths.NewTempDirectory());
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateAuthority("CN=Jex Test CA", caKey, now);
        using var rogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rogue = CreateAuthority("CN=Rogue CA", rogueKey, now);

        File.WriteAllText(certificates.CaPath, ca.ExportCertificatePem() + "\n");
        using (var server = Issue(ca, "CN=localhost", ServerAuthOid, now, certificates.ServerCertificatePath, certificates.ServerKeyPath, withNames: true))
        {
            File.WriteAllBytes(certificates.ServerPfxPath, server.Export(X509ContentType.Pfx, certificates.PfxPassword));
        }

        Issue(ca, "CN=jex-member", ClientAuthOid, now, certificates.ClientCertificatePath, certificates.ClientKeyPath, withNames: false).Dispose();
        Issue(rogue, "CN=rogue-member", ClientAuthOid, now, certificates.RogueClientCertificatePath, certificates.RogueClientKeyPath, withNames: false).Dispose();
        return certificates;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private static X509Certificate2 CreateAuthority(string subject, ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
    }

    /// <summary>Writes the certificate and its key as PEM; returns the certificate with its key.</summary>
    private static X509Certificate2 Issue(X509Certificate2 authority, string subject, string usage, DateTimeOffset now, string certificatePath, string keyPath, bool withNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        if (withNames)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var certificate = request.Create(authority, now.AddHours(-1), now.AddDays(1), serial);
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return certificate.CopyWithPrivateKey(key);
    }
}

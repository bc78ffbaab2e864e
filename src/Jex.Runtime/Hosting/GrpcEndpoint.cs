using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Jex.Runtime.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using HostLog = Jex.Runtime.Diagnostics.HostLog;

namespace Jex.Runtime.Hosting;

/// <summary>
/// The gRPC listener as configured, checked before anything starts: the socket path (a stale
/// socket is replaced; anything else there is refused, never deleted) and the TLS certificates
/// (loaded once, so a bad file stops startup with exit code 2 instead of failing the first
/// handshake). See docs/security.md.
/// </summary>
internal sealed partial class GrpcEndpoint
{
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    private readonly UserCodeOptions _options;

    private GrpcEndpoint(UserCodeOptions options, string? socketPath, X509Certificate2? certificate, X509Certificate2Collection? chain, X509Certificate2Collection? authorities)
    {
        _options = options;
        SocketPath = socketPath;
        Certificate = certificate;
        Chain = chain;
        Authorities = authorities;
    }

    /// <summary>The full socket path, or null for TCP.</summary>
    public string? SocketPath { get; }

    /// <summary>The server certificate, with its private key, when the listener speaks TLS.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>Intermediates sent after the server certificate.</summary>
    public X509Certificate2Collection? Chain { get; }

    /// <summary>The authorities a client certificate must chain to (mutual TLS).</summary>
    public X509Certificate2Collection? Authorities { get; }

    /// <summary>No token and a TCP bind beyond loopback, allowed by <c>UserCode:AllowAnonymous</c>.</summary>
    public bool AnonymousOnNetwork => ChannelSecurityRules.IsAnonymousOnNetwork(_options);

    public ClientCertificateMode ClientCertificateMode => _options.Grpc.ClientCertificate.Mode.ToLowerInvariant() switch
    {
        "require" => ClientCertificateMode.RequireCertificate,
        "allow" => ClientCertificateMode.AllowCertificate,
        _ => ClientCertificateMode.NoCertificate,
    };

    /// <summary>
    /// Checks the socket path and loads the certificates. Throws <see cref="GrpcEndpointException"/>
    /// with a message that names the key and the file.
    /// </summary>
    public static GrpcEndpoint Prepare(UserCodeOptions options)
    {
        string? socketPath = null;
        if (options.Grpc.Socket is { } socket)
        {
            socketPath = Path.GetFullPath(socket);
            ClearStaleSocket(socketPath);
        }

        X509Certificate2? certificate = null;
        X509Certificate2Collection? chain = null;
        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrWhiteSpace(options.Grpc.Certificate.Path))
        {
            (certificate, chain) = LoadServerCertificate(options.Grpc.Certificate);
            if (!string.IsNullOrWhiteSpace(options.Grpc.ClientCertificate.AuthorityPath)
                && !string.Equals(options.Grpc.ClientCertificate.Mode, "none", StringComparison.OrdinalIgnoreCase))
            {
                authorities = LoadAuthorities(options.Grpc.ClientCertificate.AuthorityPath);
            }
        }

        return new GrpcEndpoint(options, socketPath, certificate, chain, authorities);
    }

    /// <summary>Binds Kestrel: HTTP/2 only (plaintext HTTP/1.1+2 makes Java and Python gRPC clients fail), TLS when configured.</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        if (SocketPath is not null)
        {
            kestrel.ListenUnixSocket(SocketPath, l => l.Protocols = HttpProtocols.Http2);
            return;
        }

        var address = _options.Grpc.Address == "localhost" ? IPAddress.Loopback : IPAddress.Parse(_options.Grpc.Address);
        kestrel.Listen(address, _options.Grpc.Port, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            if (Certificate is not null)
            {
                l.UseHttps(CreateHttpsOptions(kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Jex.Runtime.Tls")));
            }
        });
    }

    internal HttpsConnectionAdapterOptions CreateHttpsOptions(ILogger logger)
    {
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = Certificate,
            ServerCertificateChain = Chain,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = ClientCertificateMode,
            CheckCertificateRevocation = false,
        };
        if (Authorities is { } authorities)
        {
            https.ClientCertificateValidation = (certificate, _, _) => ValidateClient(certificate, authorities, logger);
        }

        return https;
    }

    /// <summary>
    /// A client certificate is valid when it chains to one of the configured authorities, is
    /// within its validity period, and, if it names its uses, includes client authentication.
    /// The machine's trust store plays no part: only the configured authorities admit members.
    /// </summary>
    private static bool ValidateClient(X509Certificate2 certificate, X509Certificate2Collection authorities, ILogger logger)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        if (chain.Build(certificate))
        {
            return true;
        }

        var reasons = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
        HostLog.ClientCertificateRefused(logger, certificate.Subject, reasons);
        return false;
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(GrpcCertificateOptions c)
    {
        const string Key = "UserCode:Grpc:Certificate:Path";
        var path = c.Path!;
        var content = ReadFile(Key, path);
        var isPem = content.AsSpan().IndexOf("-----BEGIN "u8) >= 0;
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            if (isPem)
            {
                if (c.KeyPath is { Length: > 0 } keyPath)
                {
                    _ = ReadFile("UserCode:Grpc:Certificate:KeyPath", keyPath);
                }

                certificate = string.IsNullOrEmpty(c.Password)
                    ? X509Certificate2.CreateFromPemFile(path, c.KeyPath is { Length: > 0 } ? c.KeyPath : null)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, c.Password, c.KeyPath is { Length: > 0 } ? c.KeyPath : null);
                var all = new X509Certificate2Collection();
                all.ImportFromPem(System.Text.Encoding.ASCII.GetString(content));
                foreach (var other in all)
                {
                    if (other.Thumbprint != certificate.Thumbprint)
                    {
                        chain.Add(other);
                    }
                }
            }
            else
            {
                if (!string.IsNullOrWhiteSpace(c.KeyPath))
                {
                    throw new GrpcEndpointException($"UserCode:Grpc:Certificate:KeyPath '{c.KeyPath}' applies to PEM only; {Key} '{path}' is PKCS#12, which holds its own key: remove KeyPath");
                }

                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, c.Password, X509KeyStorageFlags.EphemeralKeySet);
                certificate = all.FirstOrDefault(x => x.HasPrivateKey)
                    ?? throw new GrpcEndpointException($"{Key} '{path}' (PKCS#12) holds no certificate with a private key");
                foreach (var other in all)
                {
                    if (!ReferenceEquals(other, certificate))
                    {
                        chain.Add(other);
                    }
                }
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            var keyNote = isPem
                ? (string.IsNullOrWhiteSpace(c.KeyPath) ? " (no UserCode:Grpc:Certificate:KeyPath: the key must follow the certificate in the same file)" : $" with UserCode:Grpc:Certificate:KeyPath '{c.KeyPath}'")
                : " (read as PKCS#12: it has no PEM header)";
            throw new GrpcEndpointException($"{Key} '{path}'{keyNote} cannot be loaded: {e.Message.TrimEnd('.')}; "
                + "give the certificate with its own private key (PEM, or PKCS#12), and UserCode:Grpc:Certificate:Password if the key or file is encrypted");
        }

        if (!certificate.HasPrivateKey)
        {
            throw new GrpcEndpointException($"{Key} '{path}' has no private key: set UserCode:Grpc:Certificate:KeyPath to its PEM key");
        }

        var now = DateTime.Now;
        if (certificate.NotAfter < now || certificate.NotBefore > now)
        {
            throw new GrpcEndpointException($"{Key} '{path}' ({certificate.Subject}) is valid only from {certificate.NotBefore:u} to {certificate.NotAfter:u}: renew it");
        }

        return (certificate, chain);
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        const string Key = "UserCode:Grpc:ClientCertificate:AuthorityPath";
        var content = ReadFile(Key, path);
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPem(System.Text.Encoding.ASCII.GetString(content));
        }
        catch (CryptographicException e)
        {
            throw new GrpcEndpointException($"{Key} '{path}' cannot be read as PEM certificates: {e.Message.TrimEnd('.')}");
        }

        return authorities.Count > 0
            ? authorities
            : throw new GrpcEndpointException($"{Key} '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    private static byte[] ReadFile(string key, string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GrpcEndpointException($"{key} '{path}' cannot be read: {e.Message.TrimEnd('.')}");
        }
    }

    /// <summary>
    /// A socket left by a runtime that died is removed, so the new one can bind. Anything else at
    /// the path (a regular file, a directory, a symbolic link, a device) is someone's data or a
    /// trap: refused, never deleted. A socket someone still serves on is refused too.
    /// </summary>
    private static void ClearStaleSocket(string path)
    {
        const string Key = "UserCode:Grpc:Socket";
        var kind = FileKind(path);
        if (kind is null)
        {
            return;
        }

        if (kind != "socket")
        {
            throw new GrpcEndpointException($"{Key} '{path}' already exists and is a {kind}, not a socket: "
                + "the runtime does not delete it; remove it yourself or choose another path");
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new GrpcEndpointException($"{Key} '{path}' is in use: another process accepts connections on it; stop it or choose another path");
            }
            catch (SocketException)
            {
                // Refused: nobody listens, the socket is stale.
            }
        }

        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GrpcEndpointException($"{Key} '{path}' is a stale socket that cannot be removed: {e.Message.TrimEnd('.')}");
        }
    }

    /// <summary>What is at <paramref name="path"/>, without following a symbolic link; null when nothing.</summary>
    internal static string? FileKind(string path)
    {
        // statx, not stat: its buffer layout is the same on every architecture.
        var buffer = default(StatxBuffer);
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, ref buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT)
            {
                return null;
            }

            throw new GrpcEndpointException($"UserCode:Grpc:Socket '{path}' cannot be examined: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return (buffer.Mode & 0xF000) switch
        {
            0xC000 => "socket",
            0xA000 => "symbolic link",
            0x8000 => "regular file",
            0x4000 => "directory",
            0x1000 => "named pipe",
            0x2000 => "character device",
            0x6000 => "block device",
            _ => "file of unknown type",
        };
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int ENOENT = 2;

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)]
        public ushort Mode;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref StatxBuffer buffer);
}

/// <summary>The gRPC endpoint's configuration cannot be used; the message names the key and the file.</summary>
internal sealed class GrpcEndpointException(string message) : Exception(message);

namespace Jex.Runtime.Configuration;

/// <summary><c>UserCode:Grpc:Certificate:*</c>: the gRPC listener's TLS certificate.</summary>
internal sealed class GrpcCertificateOptions
{
    /// <summary>
    /// The certificate: a PEM file (the leaf first, then any intermediates; the key may follow
    /// or sit in <see cref="KeyPath"/>) or a PKCS#12 (.pfx) file. Unset means plaintext HTTP/2.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The PEM private key, when it is not in <see cref="Path"/>. Not used with PKCS#12.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The PKCS#12 password, or the password of an encrypted PEM key.</summary>
    public string? Password { get; set; }
}

/// <summary><c>UserCode:Grpc:ClientCertificate:*</c>: mutual TLS.</summary>
internal sealed class GrpcClientCertificateOptions
{
    public static readonly string[] Modes = ["none", "allow", "require"];

    /// <summary>
    /// <c>none</c> (default): no client certificate is asked for. <c>allow</c>: a member may
    /// present one, which must then be valid. <c>require</c>: every connection must present a
    /// valid one.
    /// </summary>
    public string Mode { get; set; } = "none";

    /// <summary>PEM file of the certificate authorities that must have issued a client certificate.</summary>
    public string? AuthorityPath { get; set; }
}

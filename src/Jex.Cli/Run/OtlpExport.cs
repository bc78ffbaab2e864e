using Jex.Member.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Jex.Cli.Run;

/// <summary>
/// <c>jex run --otlp ENDPOINT</c>: the member's batch spans go to an OpenTelemetry collector, and a
/// forked runtime is told to export its own there too, so one trace holds both sides of a batch.
/// </summary>
internal sealed record OtlpExport(Uri Endpoint, OtlpExportProtocol Protocol)
{
    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>The service name the member's spans carry (the runtime names itself).</summary>
    public const string ServiceName = "jex";

    /// <summary>Reads --otlp and --otlp-protocol; the message names the option at fault and what it takes.</summary>
    public static OtlpExport Parse(string endpoint, string? protocol)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"--otlp: '{endpoint}' is not an http:// or https:// address of an OpenTelemetry collector (e.g. http://127.0.0.1:4318, or :4317 with --otlp-protocol grpc)");
        }

        // The runtime's default too (UserCode:Otlp:Protocol).
        var kind = (protocol ?? HttpProtobuf) switch
        {
            Grpc => OtlpExportProtocol.Grpc,
            HttpProtobuf => OtlpExportProtocol.HttpProtobuf,
            _ => throw new ArgumentException($"--otlp-protocol: '{protocol}' is not one of {Grpc}, {HttpProtobuf}"),
        };
        return new OtlpExport(uri, kind);
    }

    public string ProtocolName => Protocol == OtlpExportProtocol.HttpProtobuf ? HttpProtobuf : Grpc;

    /// <summary>
    /// Where spans are posted: over HTTP the exporter uses an endpoint set in code as it is, so the
    /// collector's base address gets the traces path, as the runtime does for its own.
    /// </summary>
    public Uri TracesEndpoint => Protocol == OtlpExportProtocol.Grpc || Endpoint.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal)
        ? Endpoint
        : new Uri(Endpoint.AbsoluteUri.TrimEnd('/') + "/v1/traces");

    /// <summary>The runtime's configuration keys for the same collector, as command-line switches.</summary>
    public IReadOnlyList<string> RuntimeArguments() =>
    [
        "--UserCode:Otlp:Endpoint=" + Endpoint.OriginalString,
        "--UserCode:Otlp:Protocol=" + ProtocolName,
    ];

    /// <summary>Starts exporting the member's spans; disposing it sends what is buffered.</summary>
    public TracerProvider Start() => Sdk.CreateTracerProviderBuilder()
        .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(ServiceName, serviceVersion: typeof(OtlpExport).Assembly.GetName().Version?.ToString()))
        .AddSource(MemberTracing.SourceName)
        .AddOtlpExporter(o =>
        {
            o.Endpoint = TracesEndpoint;
            o.Protocol = Protocol;
        })
        .Build();
}

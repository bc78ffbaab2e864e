using System.Net;
using System.Net.Sockets;
using Jex.Runtime.Configuration;
using Jex.Runtime.Diagnostics;
using Jex.Runtime.Dispatch;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Jex.Runtime.Hosting;

/// <summary>
/// Metrics and traces out of the process (docs/observability.md): the Prometheus endpoint
/// (UserCode:Metrics:Prometheus) and OTLP export (UserCode:Otlp:Endpoint). With neither set
/// nothing is registered, so no listener samples the Meter or the ActivitySource and recording
/// costs a flag check; <c>dotnet-counters</c> needs nothing from here.
/// </summary>
internal static class Telemetry
{
    public const string ScrapePath = "/metrics";

    public static bool IsEnabled(UserCodeOptions options) =>
        options.Metrics.Prometheus || !string.IsNullOrEmpty(options.Otlp.Endpoint);

    /// <summary>Registers the OpenTelemetry SDK with the exporters the options ask for.</summary>
    public static void AddRuntimeTelemetry(this IServiceCollection services, UserCodeOptions options)
    {
        if (!IsEnabled(options))
        {
            return;
        }

        var otlp = options.Otlp.Endpoint is { Length: > 0 } endpoint ? new Uri(endpoint) : null;
        var grpc = string.Equals(options.Otlp.Protocol, "grpc", StringComparison.OrdinalIgnoreCase);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("jex-runtime", serviceVersion: RuntimeInfo.Version, serviceInstanceId: Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RuntimeMetrics.MeterName);
                if (options.Metrics.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(o => ConfigureOtlp(o, otlp, grpc, "v1/metrics"));
                }
            });
        if (otlp is not null)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(RuntimeActivity.SourceName)
                .AddOtlpExporter(o => ConfigureOtlp(o, otlp, grpc, "v1/traces")));
        }
    }

    /// <summary>
    /// Over OTLP/HTTP each signal has its own path under the collector's base URL (the exporter
    /// appends it only when the endpoint comes from OTEL_EXPORTER_OTLP_ENDPOINT, not from code).
    /// </summary>
    private static void ConfigureOtlp(OtlpExporterOptions o, Uri endpoint, bool grpc, string signalPath)
    {
        o.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        o.Endpoint = grpc || endpoint.AbsolutePath.EndsWith(signalPath, StringComparison.Ordinal)
            ? endpoint
            : new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath);
    }

    /// <summary>Maps <c>/metrics</c> on the metrics listener's port only.</summary>
    public static void MapRuntimeTelemetry(this WebApplication app, MetricsListener? listener)
    {
        if (listener is not null)
        {
            app.MapPrometheusScrapingEndpoint(ScrapePath).RequireHost($"*:{listener.Port}");
        }
    }
}

/// <summary>
/// The Prometheus listener: its own port, HTTP/1.1 and plaintext, because scrapers speak HTTP/1.1
/// and the gRPC listener is HTTP/2 only (plaintext HTTP/1.1+2 breaks Java and Python gRPC clients).
/// The socket is bound before the host is built, so the ready line can name the URL even when the
/// transport (shared memory) says ready before Kestrel starts; Kestrel then takes the socket over.
/// </summary>
internal sealed class MetricsListener
{
    private readonly IntPtr _handle;

    private MetricsListener(IntPtr handle, string host, int port)
    {
        _handle = handle;
        Port = port;
        Url = $"http://{host}:{port}{Telemetry.ScrapePath}";
    }

    public int Port { get; }

    /// <summary>What the ready line's <c>metrics</c> field says.</summary>
    public string Url { get; }

    /// <summary>
    /// Binds the port (UserCode:Metrics:Port, 0 for any) on UserCode:Grpc:Address for a TCP gRPC
    /// listener, else on 127.0.0.1; null when UserCode:Metrics:Prometheus is off. Throws
    /// <see cref="GrpcEndpointException"/> naming the key when the port cannot be bound.
    /// </summary>
    public static MetricsListener? Prepare(UserCodeOptions options)
    {
        if (!options.Metrics.Prometheus)
        {
            return null;
        }

        var address = options.Transport == Protocol.Contract.TransportKind.Grpc && options.Grpc.Socket is null
            ? (options.Grpc.Address == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Grpc.Address))
            : IPAddress.Loopback;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, options.Metrics.Port));
            socket.Listen(64);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new GrpcEndpointException($"UserCode:Metrics:Port {options.Metrics.Port} cannot be bound on {address}: {e.Message.TrimEnd('.')}; choose another port, or 0 for any free one");
        }

        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var host = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            ? Dns.GetHostName()
            : (address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString());
        // Kestrel owns the descriptor from here on and closes it when it stops.
        var handle = socket.Handle;
        socket.SafeHandle.SetHandleAsInvalid();
        return new MetricsListener(handle, host, port);
    }

    public void Listen(KestrelServerOptions kestrel) =>
        kestrel.ListenHandle((ulong)_handle, l => l.Protocols = HttpProtocols.Http1);
}

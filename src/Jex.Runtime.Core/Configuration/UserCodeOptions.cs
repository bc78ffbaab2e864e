using Jex.Protocol.Contract;

namespace Jex.Runtime.Configuration;

/// <summary>The runtime's settings, bound from the <c>UserCode</c> configuration section.</summary>
internal sealed class UserCodeOptions
{
    public const string Section = "UserCode";

    /// <summary>
    /// Spelled <c>grpc</c> or <c>shared-memory</c> in configuration (<see cref="TransportKinds"/>).
    /// Default gRPC. Not a public setter, so the configuration binder leaves it to jex-runtime's
    /// UserCodeBinding, which knows the spellings.
    /// </summary>
    public TransportKind Transport { get; internal set; } = TransportKind.Grpc;

    public GrpcEndpointOptions Grpc { get; set; } = new();

    /// <summary>Names the shared-memory channel.</summary>
    public string? Uid { get; set; }

    public SharedMemoryEndpointOptions SharedMemory { get; set; } = new();

    /// <summary>A user assembly (.dll) or a directory of them.</summary>
    public string? Path { get; set; }

    /// <summary>Expected auth token. When unset, any token is accepted (and a warning is logged).</summary>
    public string? Token { get; set; }

    /// <summary>
    /// A file holding the token (one line; mode 0400 or 0600), read once at start. Exclusive with
    /// <see cref="Token"/>. Container mode mounts it, so the token is not in the container's environment.
    /// Counts as "a token is configured" for the anonymous-bind rule (<see cref="AllowAnonymous"/>).
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>Exit when this process is gone.</summary>
    public int? ParentPid { get; set; }

    /// <summary>Batches processed concurrently per session, unless Init asks for fewer.</summary>
    public int MaxInFlight { get; set; } = 16;

    // Key-ordered concurrency (Init.ordering = ORDERING_KEY).

    /// <summary>
    /// With ORDERING_KEY, the most items of one session running at once over all its batches in
    /// flight: the default when Init asks for 0, and the ceiling when it asks for more. 1..4096,
    /// default 64.
    /// </summary>
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>The largest <see cref="MaxConcurrency"/> a runtime accepts.</summary>
    public const int MaxConcurrencyLimit = 4096;

    /// <summary>Largest accepted batch, in encoded bytes.</summary>
    public int MaxBatchBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest accepted batch, in items.</summary>
    public int MaxBatchItems { get; set; } = 65_536;

    /// <summary>Largest protocol message either way (gRPC message size limit).</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// Seconds a new session (gRPC call or shared-memory slot) may take to send its Init; after
    /// that it is ended with DEADLINE_EXCEEDED. Default 10.
    /// </summary>
    public int InitTimeoutSeconds { get; set; } = 10;

    /// <summary>Largest first message (the Init) accepted, in bytes. Default 64 KiB.</summary>
    public int MaxInitBytes { get; set; } = 64 * 1024;

    /// <summary>Sessions served at once over all transports; one more is refused with RESOURCE_EXHAUSTED. Default 64.</summary>
    public int MaxSessions { get; set; } = 64;

    /// <summary>Concurrent gRPC connections (Kestrel's limit); one more is closed at once. Default 128.</summary>
    public int MaxConnections { get; set; } = 128;

    /// <summary>
    /// Seconds a call may run past its batch's deadline before it is reported as stuck (Error log,
    /// gRPC health NOT_SERVING). Default 30.
    /// </summary>
    public int StuckCallSeconds { get; set; } = 30;

    /// <summary>
    /// Calls abandoned at their deadline and still running, in the whole runtime. While there are this
    /// many, new batches fail at once with CODE_OVERLOADED. Each holds its batch's buffer. Default 32.
    /// </summary>
    public int MaxAbandonedCalls { get; set; } = 32;

    /// <summary>The same limit for one session. Default 4.</summary>
    public int MaxAbandonedCallsPerSession { get; set; } = 4;

    /// <summary>
    /// Seconds a stop (SIGTERM, SIGINT) waits for open sessions to drain before it cuts them off;
    /// 0..3600, default 30. It bounds the whole graceful stop (the host's shutdown timeout).
    /// </summary>
    public int DrainTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Spelled <c>auto</c> (text on a terminal, compact JSON otherwise), <c>text</c> or <c>json</c>;
    /// read by UserCodeBinding, like <see cref="Transport"/>.
    /// </summary>
    public LogFormat LogFormat { get; internal set; } = LogFormat.Auto;

    /// <summary>Minimum level of the runtime's own log: Verbose, Debug, Information, Warning, Error, Fatal.</summary>
    public string LogLevel { get; set; } = "Information";

    // Channel security (docs/security.md).

    /// <summary>
    /// Accept sessions without a token on a non-loopback gRPC address. Default false: without a
    /// token, such a bind refuses to start (exit 2).
    /// </summary>
    public bool AllowAnonymous { get; set; }

    // Observability (docs/observability.md).

    /// <summary>The Prometheus scraping endpoint.</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>OTLP export of metrics and traces.</summary>
    public OtlpOptions Otlp { get; set; } = new();

    // Live code (docs/live-code.md).

    /// <summary>Serves jex.v1.Deploy: new user code can be uploaded and activated while sessions run.</summary>
    public DeployOptions Deploy { get; set; } = new();

    /// <summary>
    /// Where uploaded versions are stored (created 0700). Unset: a private folder under
    /// $XDG_RUNTIME_DIR or the temp folder, removed at exit; a folder set here is kept.
    /// </summary>
    public string? CodeDir { get; set; }
}

internal sealed class MetricsOptions
{
    /// <summary>Serve <c>/metrics</c> in Prometheus text format. Default false.</summary>
    public bool Prometheus { get; set; }

    /// <summary>
    /// The port of the metrics listener (HTTP/1.1, plaintext, on UserCode:Grpc:Address; on
    /// 127.0.0.1 with a socket or shared memory). 0, the default, lets the OS pick; the ready
    /// line's <c>metrics</c> field names the URL.
    /// </summary>
    public int Port { get; set; }
}

internal sealed class OtlpOptions
{
    /// <summary>
    /// An OTLP collector (http://host:4318 for OTLP/HTTP, http://host:4317 for gRPC, see
    /// <see cref="Protocol"/>): metrics and traces are exported there. Default none.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary><c>http/protobuf</c> (default) or <c>grpc</c>.</summary>
    public string Protocol { get; set; } = "http/protobuf";
}

internal sealed class DeployOptions
{
    /// <summary>Serve jex.v1.Deploy (needs a token). Without UserCode:Path the runtime then starts empty.</summary>
    public bool Enabled { get; set; }

    /// <summary>Largest package, compressed and expanded, in bytes. Default 256 MiB.</summary>
    public int MaxBytes { get; set; } = 256 * 1024 * 1024;

    /// <summary>Most files in one package. Default 4096.</summary>
    public int MaxFiles { get; set; } = 4096;

    /// <summary>
    /// With shared memory: the Unix socket Deploy is served on. Default: beside the shared-memory
    /// file, <c>/dev/shm/jex-&lt;uid&gt;.deploy</c>. Over gRPC, Deploy shares the session listener.
    /// </summary>
    public string? Socket { get; set; }
}

internal sealed class GrpcEndpointOptions
{
    public string Address { get; set; } = "127.0.0.1";

    public int Port { get; set; }

    /// <summary>A Unix domain socket path, used instead of TCP.</summary>
    public string? Socket { get; set; }

    // Channel security (docs/security.md).

    /// <summary>The server certificate; when set, the TCP listener speaks TLS (HTTP/2, ALPN h2).</summary>
    public GrpcCertificateOptions Certificate { get; set; } = new();

    /// <summary>Client certificates (mutual TLS); needs <see cref="Certificate"/>.</summary>
    public GrpcClientCertificateOptions ClientCertificate { get; set; } = new();
}

internal sealed class SharedMemoryEndpointOptions
{
    /// <summary>Session slots in the file: members served at once. Default 4.</summary>
    public int Sessions { get; set; } = 4;

    /// <summary>Bytes of each ring (power of two, 4096..1 GiB). Default 1 MiB.</summary>
    public int RingBytes { get; set; } = 1 << 20;

    // Waiting (docs/shared-memory.md, "Waiting: adaptive, spin, block").

    /// <summary>
    /// How a slot thread with nothing to read waits: <c>adaptive</c> (default: spin 10 µs then block
    /// on fewer than 4 cores, spin 100 µs, yield, then block on more), <c>spin</c> (spin 1 ms, yield
    /// 1 ms, then block) or <c>block</c> (block at once). Mapped by Jex.Transport.SharedMemory's IdleStrategy.
    /// </summary>
    public string Wait { get; set; } = "adaptive";

    /// <summary>The spellings <see cref="Wait"/> takes.</summary>
    public static readonly IReadOnlyList<string> WaitModes = ["adaptive", "spin", "block"];
}

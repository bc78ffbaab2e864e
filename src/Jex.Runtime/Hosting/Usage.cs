using System.Globalization;
using System.Reflection;
using System.Text;
using Jex.Protocol.Contract;
using Jex.Runtime.Configuration;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Hosting;

/// <summary>
/// <c>jex-runtime --help</c> and <c>--version</c>. Answered before any configuration is read, so
/// they work with no user code and no settings; the defaults shown are those of
/// <see cref="UserCodeOptions"/> itself, so the help cannot drift from the code.
/// </summary>
internal static class Usage
{
    private static readonly string[] HelpSwitches = ["--help", "-h", "-?"];

    /// <summary>
    /// When <paramref name="args"/> ask for help or the version, writes it to
    /// <paramref name="output"/> and returns the exit code (0); otherwise null.
    /// </summary>
    public static int? TryAnswer(string[] args, TextWriter output)
    {
        if (args.Any(a => HelpSwitches.Contains(a, StringComparer.Ordinal)))
        {
            output.Write(Help());
            return 0;
        }

        if (args.Contains("--version", StringComparer.Ordinal))
        {
            output.WriteLine(VersionLine());
            return 0;
        }

        return null;
    }

    /// <summary><c>jex-runtime X.Y.Z (protocol N)</c>, from the informational version without its build metadata.</summary>
    public static string VersionLine()
    {
        var informational = typeof(Usage).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? RuntimeInfo.Version;
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        return string.Create(CultureInfo.InvariantCulture, $"jex-runtime {version} (protocol {ProtocolContract.Version})");
    }

    /// <summary>Every configuration key with its default and meaning, in the order of README's table.</summary>
    public static IReadOnlyList<(string Key, string Default, string Meaning)> Keys()
    {
        var d = new UserCodeOptions();
        var kinds = string.Join(" or ", TransportKinds.Names);
        return
        [
            ("Transport", d.Transport.ToWire(), kinds),
            ("Grpc:Address", d.Grpc.Address, "interface to bind (0.0.0.0 in a container)"),
            ("Grpc:Port", Text(d.Grpc.Port), "TCP port; 0 lets the OS pick (the ready line says which)"),
            ("Grpc:Socket", Text(d.Grpc.Socket), "a Unix domain socket path instead of TCP"),
            ("Grpc:Certificate:Path", Text(d.Grpc.Certificate.Path), "TLS server certificate, PEM or PKCS#12 (TCP only)"),
            ("Grpc:Certificate:KeyPath", Text(d.Grpc.Certificate.KeyPath), "PEM private key, when not in the certificate file"),
            ("Grpc:Certificate:Password", Text(d.Grpc.Certificate.Password), "PKCS#12 or encrypted-PEM key password"),
            ("Grpc:ClientCertificate:Mode", d.Grpc.ClientCertificate.Mode, string.Join(", ", GrpcClientCertificateOptions.Modes) + " (mutual TLS)"),
            ("Grpc:ClientCertificate:AuthorityPath", Text(d.Grpc.ClientCertificate.AuthorityPath), "PEM CA that must have issued client certificates"),
            ("Uid", Text(d.Uid), "names the shared-memory channel (/dev/shm/jex-<uid>); required with shared-memory"),
            ("SharedMemory:Sessions", Text(d.SharedMemory.Sessions), "shared-memory session slots, 1..64"),
            ("SharedMemory:RingBytes", Text(d.SharedMemory.RingBytes), "bytes per ring, a power of two from 4096"),
            ("SharedMemory:Wait", d.SharedMemory.Wait, string.Join(", ", SharedMemoryEndpointOptions.WaitModes) + " (adaptive: block at once on < 4 cores; spin 100 us, yield, then block on more)"),
            ("Path", "(required)", "a user assembly (.dll) or a directory of them (optional with Deploy:Enabled)"),
            ("Token", Text(d.Token), "the token sessions must present (set it as UserCode__Token)"),
            ("TokenFile", Text(d.TokenFile), "a file holding the token (mode 0400 or 0600); exclusive with Token"),
            ("AllowAnonymous", Text(d.AllowAnonymous), "serve without a token on a non-loopback address"),
            ("ParentPid", Text(d.ParentPid), "exit within 1 s when this process is gone"),
            ("MaxInFlight", Text(d.MaxInFlight), "batches processed at once per session"),
            ("MaxConcurrency", Text(d.MaxConcurrency), $"items running at once per session with ordering: key, 1..{UserCodeOptions.MaxConcurrencyLimit}"),
            ("MaxBatchBytes", Text(d.MaxBatchBytes), "largest batch, in bytes"),
            ("MaxBatchItems", Text(d.MaxBatchItems), "largest batch, in items"),
            ("MaxMessageBytes", Text(d.MaxMessageBytes), "largest message either way"),
            ("MaxInitBytes", Text(d.MaxInitBytes), "largest first message (the Init)"),
            ("InitTimeoutSeconds", Text(d.InitTimeoutSeconds), "time a session has to send its Init"),
            ("MaxSessions", Text(d.MaxSessions), "sessions at once over all transports"),
            ("MaxConnections", Text(d.MaxConnections), "concurrent gRPC connections"),
            ("MaxAbandonedCalls", Text(d.MaxAbandonedCalls), "calls abandoned at their deadline and still running, runtime-wide"),
            ("MaxAbandonedCallsPerSession", Text(d.MaxAbandonedCallsPerSession), "the same, per session"),
            ("StuckCallSeconds", Text(d.StuckCallSeconds), "a call this long past its deadline is reported stuck"),
            ("DrainTimeoutSeconds", Text(d.DrainTimeoutSeconds), $"how long a stop waits for open sessions to drain, {UserCodeOptionsValidator.DrainTimeoutRange}"),
            ("LogFormat", LogFormats.ToName(d.LogFormat), string.Join(", ", LogFormats.Names) + " (auto: text on a terminal, JSON otherwise)"),
            ("LogLevel", d.LogLevel, string.Join(", ", UserCodeOptionsValidator.LogLevels)),
            ("Metrics:Prometheus", Text(d.Metrics.Prometheus), "serve /metrics (Prometheus text) on a port of its own; the ready line names it"),
            ("Metrics:Port", Text(d.Metrics.Port), "the /metrics port (HTTP/1.1); 0 lets the OS pick"),
            ("Otlp:Endpoint", Text(d.Otlp.Endpoint), "export metrics and traces over OTLP to this collector URL"),
            ("Otlp:Protocol", d.Otlp.Protocol, string.Join(" or ", UserCodeOptionsValidator.OtlpProtocols)),
            ("Deploy:Enabled", Text(d.Deploy.Enabled), "serve jex.v1.Deploy (needs a token); without Path the runtime starts empty"),
            ("Deploy:MaxBytes", Text(d.Deploy.MaxBytes), "largest uploaded package, compressed or expanded"),
            ("Deploy:MaxFiles", Text(d.Deploy.MaxFiles), "most files in an uploaded package"),
            ("Deploy:Socket", Text(d.Deploy.Socket), "shared memory: the Unix socket Deploy is served on (none: the shm file's path + .deploy)"),
            ("CodeDir", Text(d.CodeDir), "where uploaded versions are stored, 0700 (none: a private folder removed at exit)"),
        ];
    }

    public static string Help()
    {
        var keys = Keys();
        var width = keys.Max(k => k.Key.Length) + UserCodeOptions.Section.Length + 1;
        var defaultWidth = keys.Max(k => k.Default.Length);
        var text = new StringBuilder();
        text.AppendLine("Usage: jex-runtime [--UserCode:Key=value ...]")
            .AppendLine("       jex-runtime --help | --version")
            .AppendLine()
            .AppendLine("Runs C# functions for a Jex member over gRPC or shared memory.")
            .AppendLine()
            .AppendLine("Configuration: each key below can be given on the command line as --UserCode:Key=value,")
            .AppendLine("in the environment as UserCode__Key=value (':' becomes '__'), or in appsettings.json;")
            .AppendLine("the command line wins over the environment. Keys are case-insensitive.")
            .AppendLine()
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {"key".PadRight(width)}  {"default".PadRight(defaultWidth)}  meaning"));
        foreach (var (key, value, meaning) in keys)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {(UserCodeOptions.Section + ":" + key).PadRight(width)}  {value.PadRight(defaultWidth)}  {meaning}"));
        }

        return text.AppendLine()
            .AppendLine("When it can take sessions, the runtime prints one line on stdout and nothing else there:")
            .AppendLine("  JEX-READY {\"transport\":...,\"address\":...,\"pid\":...,\"version\":...,\"functions\":[...]}")
            .AppendLine("  (and \"metrics\":\"http://.../metrics\" with UserCode:Metrics:Prometheus=true)")
            .AppendLine("Logs go to stderr.")
            .AppendLine()
            .AppendLine("SIGTERM or SIGINT stops it: no new session is taken, open sessions drain (each gets")
            .AppendLine("Drained) for up to UserCode:DrainTimeoutSeconds, then its socket or shared-memory files go.")
            .AppendLine()
            .AppendLine("Exit codes:")
            .AppendLine("  0  stopped (SIGTERM or SIGINT), or --help / --version")
            .AppendLine("  1  any other failure")
            .AppendLine("  2  configuration error: one line per problem, naming the key and what is allowed")
            .AppendLine("  3  the user code failed to load: one line naming the file")
            .ToString();
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(int? value) => value is { } v ? Text(v) : "none";

    private static string Text(bool value) => value ? "true" : "false";

    private static string Text(string? value) => value ?? "none";
}

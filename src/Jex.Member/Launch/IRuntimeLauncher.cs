using Jex.Protocol.Contract;
namespace Jex.Member.Launch;

/// <summary>
/// Starts, or reaches, a jex-runtime: a forked process, a container, or one started by hand
/// (passthru).
/// </summary>
internal interface IRuntimeLauncher
{
    /// <summary>
    /// Starts the runtime and waits for its ready line (or, for passthru, checks it is reachable).
    /// Throws <see cref="RuntimeStartException"/> naming the cause (including the runtime's last
    /// error output) when it does not become ready.
    /// </summary>
    Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken);
}

/// <summary>What to start.</summary>
/// <param name="Token">Fresh auth token: in the environment (UserCode__Token) for a forked process, whose environment only its user can read; a 0400 file mount (UserCode:TokenFile) for a container.</param>
/// <param name="Transport">How the member reaches the runtime.</param>
/// <param name="UserCodePath">UserCode:Path for the runtime (a .dll or a directory).</param>
/// <param name="Uid">UserCode:Uid, naming the shared-memory channel; null for gRPC.</param>
/// <param name="GrpcPort">TCP port, 0 for any.</param>
/// <param name="GrpcSocket">A Unix socket path to use instead of TCP, or null.</param>
/// <param name="ExtraArguments">More command-line arguments (the job's runtime args).</param>
/// <param name="ReadyTimeout">How long to wait for the ready line.</param>
/// <param name="Deploy">Serve jex.v1.Deploy (UserCode:Deploy:Enabled), so new code can be pushed into the running job (jex run --watch); null for no.</param>
internal sealed record RuntimeLaunchOptions(
    string Token,
    TransportKind Transport,
    string UserCodePath,
    string? Uid = null,
    int GrpcPort = 0,
    string? GrpcSocket = null,
    IReadOnlyList<string>? ExtraArguments = null,
    TimeSpan? ReadyTimeout = null,
    DeployLaunchOptions? Deploy = null);

/// <summary>Live code for a started runtime (docs/live-code.md).</summary>
/// <param name="CodeDir">UserCode:CodeDir, where the runtime stores deployed versions; null for the runtime's default (a private temporary folder, removed at exit).</param>
internal sealed record DeployLaunchOptions(string? CodeDir = null);

/// <summary>A started runtime.</summary>
internal interface IRuntimeInstance : IAsyncDisposable
{
    /// <summary>The parsed ready line.</summary>
    RuntimeReadyInfo Ready { get; }

    /// <summary>Names the runtime in messages: <c>runtime pid N</c>, <c>container NAME</c>, <c>runtime at ADDRESS</c>.</summary>
    string Name { get; }

    /// <summary>Completes when the runtime is gone (process exit, container stop). Never for passthru.</summary>
    Task Exited { get; }

    /// <summary>The runtime's exit code once <see cref="Exited"/> completed; null while it runs (always, for passthru).</summary>
    int? ExitCode { get; }

    /// <summary>The last lines the runtime wrote to stderr/stdout, for error messages.</summary>
    IReadOnlyList<string> RecentOutput { get; }

    /// <summary>The most telling of <see cref="RecentOutput"/> on one line (see <see cref="OutputTail.Summary"/>).</summary>
    string OutputSummary { get; }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>. Passthru: does nothing.</summary>
    Task StopAsync(TimeSpan grace, CancellationToken cancellationToken);

    /// <summary>SIGKILL now (tests and crash handling).</summary>
    void Kill();
}

internal sealed class RuntimeStartException : Exception
{
    public RuntimeStartException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>
    /// A restart would fail the same way: the job's configuration is wrong (no such executable or
    /// user code, options the launcher cannot honour) or the runtime said so with exit code 2 or 3.
    /// </summary>
    public bool IsFinal { get; init; }

    /// <summary>
    /// Nothing answers at the runtime's address (passthru). Before the job's first session this is a
    /// wrong address and ends the job; after one, the runtime may be restarting and is retried.
    /// </summary>
    public bool IsUnreachable { get; init; }

    /// <summary>The runtime's exit code when it exited before ready; null otherwise.</summary>
    public int? ExitCode { get; init; }

    /// <summary>jex-runtime's exit codes for errors no restart can fix: 2 configuration, 3 user code load.</summary>
    public static bool IsFinalExitCode(int? code) => code is 2 or 3;

    /// <summary>
    /// The one-line error for a runtime that exited before ready: for codes 2 and 3 its own
    /// <c>jex-runtime: ...</c> line, which names the key or the file at fault.
    /// </summary>
    public static RuntimeStartException ExitedBeforeReady(string what, int? exitCode, OutputTail tail, string hint = "")
    {
        if (IsFinalExitCode(exitCode))
        {
            var own = tail.Snapshot().LastOrDefault(l => l.StartsWith("jex-runtime: ", StringComparison.Ordinal)) ?? tail.Summary();
            var kind = exitCode == 2 ? "configuration error" : "user code did not load";
            return new RuntimeStartException($"{what} refused to start ({kind}, exit code {exitCode}; not restarting): {own}")
            {
                IsFinal = true,
                ExitCode = exitCode,
            };
        }

        return new RuntimeStartException($"{what} exited with code {exitCode} before it was ready: {tail.Summary()}{hint}") { ExitCode = exitCode };
    }
}

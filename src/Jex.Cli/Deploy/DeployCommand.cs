using System.CommandLine;
using System.Globalization;
using Jex.Cli.Run;
using Jex.Protocol.V1;

namespace Jex.Cli.Deploy;

/// <summary>
/// <c>jex deploy (--address ADDR | --socket PATH) [--token-env VAR] PATH [--label TEXT]</c>: puts new
/// user code into a running runtime (jex.v1.Deploy) and switches to it; <c>--list</c>,
/// <c>--activate V</c> (rollback) and <c>--remove V</c> manage the stored versions.
/// </summary>
internal static class DeployCommand
{
    public const int ExitOk = 0;

    /// <summary>The runtime refused (bad token, package, version, or code that does not load).</summary>
    public const int ExitRefused = 1;

    /// <summary>The command line or the path is wrong, or the .csproj does not build.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Nothing answers at the address.</summary>
    public const int ExitUnreachable = 3;

    public const string DefaultTokenVariable = "UserCode__Token";

    public static Command Create()
    {
        var path = new Argument<string?>("path")
        {
            Description = "The user code: its build output folder (sent as a zip), one .dll, or a .csproj (built in Release first).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var address = new Option<string?>("--address") { HelpName = "ADDR", Description = "The runtime's gRPC address: host:port, http://host:port or https://host:port." };
        var socket = new Option<string?>("--socket") { HelpName = "PATH", Description = "The runtime's Unix socket (UserCode:Grpc:Socket, or UserCode:Deploy:Socket for shared memory)." };
        var tokenEnv = new Option<string>("--token-env") { HelpName = "VAR", Description = "The environment variable that holds the runtime's token.", DefaultValueFactory = _ => DefaultTokenVariable };
        var label = new Option<string?>("--label") { HelpName = "TEXT", Description = "Shown by --list (default: the path and the time)." };
        var list = new Option<bool>("--list") { Description = "List the stored versions instead of deploying." };
        var activate = new Option<string?>("--activate") { HelpName = "VERSION", Description = "Make a stored version current again (rollback) instead of deploying." };
        var remove = new Option<string?>("--remove") { HelpName = "VERSION", Description = "Delete a stored version that is not current and not in use." };

        var command = new Command("deploy", "Upload new user code into a running jex-runtime and switch to it at a batch boundary, with no event lost (the runtime needs UserCode:Deploy:Enabled=true).");
        command.Arguments.Add(path);
        foreach (var option in new Option[] { address, socket, tokenEnv, label, list, activate, remove })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new DeployRequest(
                parse.GetValue(path), parse.GetValue(address), parse.GetValue(socket), parse.GetValue(tokenEnv) ?? DefaultTokenVariable,
                parse.GetValue(label), parse.GetValue(list), parse.GetValue(activate), parse.GetValue(remove));
            return await RunAsync(request, Console.Out, Console.Error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> RunAsync(DeployRequest request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (request.Problem() is { } problem)
        {
            await stderr.WriteLineAsync("jex deploy: " + problem).ConfigureAwait(false);
            return ExitBadInput;
        }

        var token = Environment.GetEnvironmentVariable(request.TokenVariable);
        using var client = new DeployClient(request.Target, token, "$" + request.TokenVariable);
        try
        {
            if (request.List)
            {
                var versions = await client.ListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var v in versions.Versions)
                {
                    await stdout.WriteLineAsync(FormatVersion(v)).ConfigureAwait(false);
                }

                return ExitOk;
            }

            if (request.Remove is { } removed)
            {
                await client.RemoveAsync(removed, cancellationToken).ConfigureAwait(false);
                await stdout.WriteLineAsync($"jex deploy: removed {removed}").ConfigureAwait(false);
                return ExitOk;
            }

            if (request.Activate is { } version)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var result = await client.ActivateAsync(version, cancellationToken).ConfigureAwait(false);
                await stdout.WriteLineAsync(FormatActivated(result, System.Diagnostics.Stopwatch.GetElapsedTime(started))).ConfigureAwait(false);
                return ExitOk;
            }

            var package = await PackageAsync(request.Path!, stderr, cancellationToken).ConfigureAwait(false);
            var label = request.Label ?? $"{package.Source} {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z";
            var uploaded = await client.UploadAsync(package, label, cancellationToken).ConfigureAwait(false);
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"jex deploy: uploaded {uploaded.Version} from {package.Source} ({uploaded.Files} file(s), {uploaded.Bytes / 1024.0:0.0} KiB, sha256 {package.Sha256Hex[..12]})")).ConfigureAwait(false);
            var activateStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var activated = await client.ActivateAsync(uploaded.Version, cancellationToken).ConfigureAwait(false);
            await stdout.WriteLineAsync(FormatActivated(activated, System.Diagnostics.Stopwatch.GetElapsedTime(activateStarted))).ConfigureAwait(false);
            return ExitOk;
        }
        catch (DeployException ex)
        {
            await stderr.WriteLineAsync("jex deploy: " + ex.Message).ConfigureAwait(false);
            return ex.IsUnreachable ? ExitUnreachable : ExitRefused;
        }
        catch (CodePackageException ex)
        {
            await stderr.WriteLineAsync("jex deploy: " + ex.Message).ConfigureAwait(false);
            return ExitBadInput;
        }
        catch (PreflightException ex)
        {
            await stderr.WriteLineAsync("jex deploy: " + ex.Message).ConfigureAwait(false);
            return ExitBadInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("jex deploy: cancelled").ConfigureAwait(false);
            return JobRunner.ExitCancelled;
        }
    }

    /// <summary>A folder or .dll as it is; a .csproj built first (Release, as jex run does).</summary>
    public static async Task<CodePackage> PackageAsync(string path, TextWriter progress, CancellationToken cancellationToken)
    {
        if (Preflight.IsProject(path))
        {
            if (!File.Exists(path))
            {
                throw new CodePackageException($"{path} does not exist: give the user code's build output folder, its .dll or its .csproj");
            }

            var built = await new UserCodeBuilder(progress).BuildAsync(path, path, cancellationToken).ConfigureAwait(false);
            return CodePackage.FromFolder(built);
        }

        return CodePackage.FromPath(path);
    }

    public static string FormatActivated(ActivateResult result, TimeSpan took) => string.Create(CultureInfo.InvariantCulture,
        $"jex deploy: {result.Version} is current{(result.PreviousVersion.Length > 0 ? $" (was {result.PreviousVersion})" : "")}: switch took {took.TotalMilliseconds:0.0} ms (load {result.LoadUs / 1000.0:0.0} ms); {result.Sessions} session(s) move at their next batch; functions: {string.Join(", ", result.Functions)}");

    public static string FormatVersion(CodeVersion v) => string.Create(CultureInfo.InvariantCulture,
        $"{v.Version}\t{StateName(v.State)}\t{v.Files} file(s)\t{v.Bytes / 1024.0:0.0} KiB\t{DateTimeOffset.FromUnixTimeMilliseconds(v.UploadedMs):yyyy-MM-dd HH:mm:ss}Z\tbatches={v.BatchesInFlight}\t{v.Label}");

    private static string StateName(CodeVersion.Types.State state) => state switch
    {
        CodeVersion.Types.State.Stored => "stored",
        CodeVersion.Types.State.Current => "current",
        CodeVersion.Types.State.Retiring => "retiring",
        CodeVersion.Types.State.Unloaded => "unloaded",
        _ => "unknown",
    };
}

/// <summary>What <c>jex deploy</c> was asked to do.</summary>
internal sealed record DeployRequest(
    string? Path, string? Address, string? Socket, string TokenVariable, string? Label, bool List, string? Activate, string? Remove)
{
    /// <summary>The gRPC target: unix:PATH, or the address with http:// added when it has no scheme.</summary>
    public string Target => Socket is { Length: > 0 } socket
        ? "unix:" + System.IO.Path.GetFullPath(socket)
        : Address!.Contains("://", StringComparison.Ordinal) ? Address : "http://" + Address;

    /// <summary>What is wrong with the command line, or null.</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Address) == string.IsNullOrEmpty(Socket))
        {
            return "give the runtime's address with exactly one of --address HOST:PORT or --socket PATH";
        }

        if (Address is { Length: > 0 } a && a.Contains("://", StringComparison.Ordinal)
            && !a.StartsWith("http://", StringComparison.Ordinal) && !a.StartsWith("https://", StringComparison.Ordinal))
        {
            return $"--address '{a}' is not host:port, http://host:port or https://host:port";
        }

        var actions = (List ? 1 : 0) + (Activate is null ? 0 : 1) + (Remove is null ? 0 : 1);
        if (actions > 1)
        {
            return "--list, --activate and --remove exclude each other";
        }

        if (actions == 1 && Path is not null)
        {
            return $"PATH ({Path}) deploys new code; it cannot be combined with --list, --activate or --remove";
        }

        if (actions == 0 && string.IsNullOrEmpty(Path))
        {
            return "give PATH (a build output folder, a .dll or a .csproj), or --list, --activate VERSION or --remove VERSION";
        }

        return null;
    }
}

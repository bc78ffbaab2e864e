using Jex.Member.Launch;
using Jex.Member.Sessions;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;
using Microsoft.Extensions.Logging;
using Log = Jex.Member.Diagnostics.Log;

namespace Jex.Member.Driver;

/// <summary>
/// Keeps a runtime and a session for one stage: starts the runtime, opens the session, runs it, and
/// when the runtime is lost decides between a restart (with backoff) and ending the job.
/// </summary>
/// <remarks>
/// The rule: an error no restart can fix ends the job at once, with the launcher's or the runtime's
/// own one-line reason, and no restart. Those are a launch the launcher calls final (no such
/// executable or user code, exit code 2 or 3 before the ready line), a passthru address where
/// nothing answers before the job's first session, and a session the runtime refuses for good. A
/// runtime that was ready and then died, stopped or dropped its stream is restarted; after
/// <see cref="RestartPolicy.MaxConsecutiveFailures"/> losses in a row with no batch resolved in
/// between (a crash loop), or <see cref="RestartPolicy.MaxRestarts"/> in all, the job ends, quoting
/// the last loss with the runtime's exit code and last output.
/// </remarks>
internal sealed class RuntimeSupervisor
{
    private const int SessionOpenAttempts = 3;

    // How long a lost runtime that is still alive may take to exit on SIGTERM before SIGKILL.
    private static readonly TimeSpan LostGrace = TimeSpan.FromSeconds(2);

    // How long a lost runtime's exit may trail its dead stream, for the exit code in the message.
    private static readonly TimeSpan ExitWait = TimeSpan.FromMilliseconds(500);

    private readonly IRuntimeLauncher _launcher;
    private readonly ISessionConnector _connector;
    private readonly DriverOptions _options;
    private readonly BatchLedger _ledger;
    private readonly DriverStats _stats;
    private readonly RuntimeLogForwarder _logs;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<Ready> _firstReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LiveRuntime? _current;

    /// <param name="launcher">Starts (or reaches) a runtime.</param>
    /// <param name="connector">Opens a session on a started runtime.</param>
    /// <param name="options">The session to open, the launch options, the restart policy.</param>
    /// <param name="ledger">Progress between losses: a loss after a resolved batch is not part of a crash loop.</param>
    /// <param name="stats">Restarts and the current runtime's pid are counted here.</param>
    /// <param name="logs">Where the runtime's records during the handshake go.</param>
    /// <param name="logger">The member's log.</param>
    public RuntimeSupervisor(
        IRuntimeLauncher launcher, ISessionConnector connector, DriverOptions options,
        BatchLedger ledger, DriverStats stats, RuntimeLogForwarder logs, ILogger logger)
    {
        _launcher = launcher;
        _connector = connector;
        _options = options;
        _ledger = ledger;
        _stats = stats;
        _logs = logs;
        _logger = logger;
    }

    /// <summary>Completes with the first session's Ready: the job is running (its source may start).</summary>
    public Task<Ready> FirstReady => _firstReady.Task;

    /// <summary>The Ready of the current session (null before the first one).</summary>
    public Ready? LastReady { get; private set; }

    /// <summary>The runtime the current session runs on, with its token; null while there is none (starting, restarting, stopped).</summary>
    public LiveRuntime? Current => Volatile.Read(ref _current);

    private string Job => _options.Session.JobName;

    private string Stage => _options.Session.StageName;

    /// <summary>
    /// Runs <paramref name="runSession"/> on a fresh runtime and session until it returns (the job's
    /// work is done; the runtime is then stopped), restarting after each loss.
    /// </summary>
    /// <exception cref="JobFailedException">The job cannot go on; the message says why.</exception>
    public async Task RunAsync(Func<IRuntimeInstance, ISessionChannel, CancellationToken, Task> runSession, CancellationToken cancellationToken)
    {
        var consecutiveFailures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var resolvedBefore = _ledger.ResolvedCount;
            IRuntimeInstance? instance = null;
            ISessionChannel? channel = null;
            try
            {
                var launch = _options.LaunchOptions();
                instance = await _launcher.StartAsync(launch with { ReadyTimeout = launch.ReadyTimeout ?? _options.ReadyTimeout }, cancellationToken).ConfigureAwait(false);
                _stats.RuntimePid = instance.Ready.Pid;
                if (_options.PrepareRuntime is { } prepare)
                {
                    // The functions the runtime started with are not the ones it will serve.
                    await prepare(new LiveRuntime(instance.Ready, launch.Token, instance.Name), cancellationToken).ConfigureAwait(false);
                }
                else if (instance.Ready.Functions.Count > 0 && !instance.Ready.Functions.Contains(_options.Session.Function))
                {
                    throw new JobFailedException(
                        $"function '{_options.Session.Function}' is not in the runtime's user code; it has: {string.Join(", ", instance.Ready.Functions)}; fix the job's function key")
                    {
                        // A configuration error, as the runtime's own exit code 2 means: no restart can fix it.
                        ExitCode = 2,
                    };
                }

                Ready ready;
                (channel, ready) = await OpenSessionAsync(instance, launch.Token, cancellationToken).ConfigureAwait(false);
                LastReady = ready;
                Volatile.Write(ref _current, new LiveRuntime(instance.Ready, launch.Token, instance.Name));
                _firstReady.TrySetResult(ready);
                Log.SessionOpen(_logger, Job, Stage, instance.Ready.Address, ready.Signature?.Name ?? _options.Session.Function,
                    ready.Signature?.Input ?? "?", ready.Signature?.Output ?? "?", ready.Pid);

                await runSession(instance, channel, cancellationToken).ConfigureAwait(false);

                await channel.DisposeAsync().ConfigureAwait(false);
                channel = null;
                await instance.StopAsync(_options.StopGrace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (Forget() && IsRecoverable(ex) && !cancellationToken.IsCancellationRequested)
            {
                // Close the session first: a draining runtime's server waits for its open
                // connections before it exits.
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                channel = null;
                var reason = await DescribeAsync(ex, instance).ConfigureAwait(false);
                consecutiveFailures = _ledger.ResolvedCount > resolvedBefore ? 1 : consecutiveFailures + 1;
                if (consecutiveFailures >= _options.Restart.MaxConsecutiveFailures)
                {
                    throw new JobFailedException(
                        $"the runtime failed {consecutiveFailures} times in a row without progress (crash loop, giving up); last error: {reason}", ex);
                }

                if (_stats.Restarts >= _options.Restart.MaxRestarts)
                {
                    throw new JobFailedException($"the runtime was restarted {_stats.Restarts} times, the most allowed; last error: {reason}", ex);
                }

                var delay = _options.Restart.Backoff(consecutiveFailures);
                _stats.AddRestart();
                Log.RuntimeLost(_logger, Job, Stage, reason, _ledger.InFlight, (int)_stats.Restarts, (long)delay.TotalMilliseconds);
                if (instance is not null && !instance.Exited.IsCompleted)
                {
                    // Often it is on its way out (SIGTERMed, draining): let it finish and remove its
                    // files rather than SIGKILL it; a hung one gets SIGKILL after a short grace.
                    await StopQuietlyAsync(instance, LostGrace).ConfigureAwait(false);
                }

                await DisposeQuietlyAsync(channel, instance).ConfigureAwait(false);
                channel = null;
                instance = null;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SessionEndedException or ProtocolViolationException)
            {
                // Permanent: a restart would be refused the same way.
                throw new JobFailedException($"the runtime refused the session: {ex.Message}", ex);
            }
            catch (RuntimeStartException ex) when (ex.IsFinal || ex.IsUnreachable)
            {
                // The launcher's own line names the path or the address and what to do; the same
                // start would fail the same way (IsRecoverable let an unreachable runtime through only
                // after the job's first session).
                throw new JobFailedException(ex.Message, ex) { ExitCode = ex.ExitCode };
            }
            finally
            {
                Forget();
                if (instance is not null && cancellationToken.IsCancellationRequested)
                {
                    // Cancelled (Ctrl+C): let the runtime drain and clean up (SIGTERM), SIGKILL only after the grace.
                    await StopQuietlyAsync(instance, _options.StopGrace).ConfigureAwait(false);
                }

                await DisposeQuietlyAsync(channel, instance).ConfigureAwait(false);
            }
        }
    }

    // Runs in the exception filter too, so nobody deploys to a runtime that is being given up.
    private bool Forget()
    {
        Volatile.Write(ref _current, null);
        return true;
    }

    // A runtime that has just printed its ready line can still drop the first connection (seen
    // under heavy load: GOAWAY right after the HTTP/2 preface). Retrying on the same, live runtime
    // is cheaper and truer than counting a restart.
    private async Task<(ISessionChannel Channel, Ready Ready)> OpenSessionAsync(IRuntimeInstance instance, string token, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var channel = await _connector.ConnectAsync(instance.Ready, cancellationToken).ConfigureAwait(false);
            try
            {
                var ready = await SessionHandshake.OpenAsync(channel, _options.Session, token, _logs.Forward, _options.ReadyTimeout, cancellationToken).ConfigureAwait(false);
                return (channel, ready);
            }
            catch (Exception ex) when (attempt < SessionOpenAttempts && IsRecoverable(ex) && ex is not TimeoutException
                && !instance.Exited.IsCompleted && !cancellationToken.IsCancellationRequested)
            {
                Log.SessionOpenRetry(_logger, Job, Stage, ex.Message, attempt);
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await DisposeQuietlyAsync(channel, null).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Whether a restart may help: see the class remarks for the errors it cannot.</summary>
    private bool IsRecoverable(Exception ex) => ex switch
    {
        JobFailedException or ProtocolViolationException => false,
        SessionEndedException ended => !SessionHandshake.IsPermanent(ended.StatusCode),
        RuntimeStartException start => !start.IsFinal && !(start.IsUnreachable && !_firstReady.Task.IsCompleted),
        RuntimeStoppedException or TimeoutException or IOException or HttpRequestException => true,
        _ => false,
    };

    /// <summary>The loss in one line: its message, and for a runtime that exited, its exit code and last output.</summary>
    private static async Task<string> DescribeAsync(Exception ex, IRuntimeInstance? instance)
    {
        if (instance is null)
        {
            return ex.Message;
        }

        // A dead stream usually precedes the exit by a moment; wait for it so the message can
        // carry the exit code and the runtime's last words.
        try
        {
            await instance.Exited.WaitAsync(ExitWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        return instance.ExitCode is { } code
            ? $"{ex.Message} ({instance.Name} exited with code {code}: {instance.OutputSummary})"
            : ex.Message;
    }

    private static async Task StopQuietlyAsync(IRuntimeInstance instance, TimeSpan grace)
    {
        try
        {
            await instance.StopAsync(grace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or IOException)
        {
            // DisposeAsync kills it next.
        }
    }

    private static async Task DisposeQuietlyAsync(ISessionChannel? channel, IRuntimeInstance? instance)
    {
        if (channel is not null)
        {
            try
            {
                await channel.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
            }
        }

        if (instance is not null)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A runtime serving the job's session now: where it is and the token it takes (for jex.v1.Deploy).</summary>
/// <param name="Ready">Its ready line.</param>
/// <param name="Token">Its UserCode:Token.</param>
/// <param name="Name">Names it in messages (see <see cref="IRuntimeInstance.Name"/>).</param>
internal sealed record LiveRuntime(RuntimeReadyInfo Ready, string Token, string Name);

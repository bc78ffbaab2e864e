using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Jex.Cli.Deploy;
using Jex.Member.Driver;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Cli.Run;

/// <summary>
/// <c>jex run --watch</c>: each settled change of the job's user code is packaged (after a
/// rebuild, for a .csproj), uploaded into the runtime serving the job and activated; the runtime
/// switches at a batch boundary and the driver just keeps going, so no event is lost or repeated.
/// A deploy that fails is reported and the job keeps running on the version it has.
/// </summary>
/// <remarks>
/// The runtime never runs the watched files themselves: it starts from a private copy
/// (<see cref="StartPath"/>), a new one after each deploy so a restarted runtime gets the latest
/// code. A runtime maps the assemblies it loads, and a copy over a mapped file would change the
/// running version's bytes under it.
/// </remarks>
internal sealed class LiveCode : IAsyncDisposable
{
    private static readonly TimeSpan RuntimeWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstResultWait = TimeSpan.FromSeconds(5);
    private readonly string _userCode;
    private readonly TextWriter _err;
    private readonly DirectoryInfo _copies;
    private readonly TimeSpan _quiet;
    private string _startPath;
    private string? _lastSha;
    private int _copyCount;
    private int _deploys;

    private LiveCode(string userCode, TextWriter err, DirectoryInfo copies, string startPath, string? sha, TimeSpan quiet)
    {
        _userCode = userCode;
        _err = err;
        _copies = copies;
        _startPath = startPath;
        _lastSha = sha;
        _quiet = quiet;
    }

    /// <summary>The UserCode:Path a runtime starting now gets: a copy of the last code deployed (or started with).</summary>
    public string StartPath => Volatile.Read(ref _startPath);

    /// <summary>Deploys that were activated.</summary>
    public int Deploys => Volatile.Read(ref _deploys);

    /// <summary>
    /// Copies the user code the job starts with (<paramref name="built"/>: the folder or .dll the
    /// runtime would load) into a private folder that lives as long as the run.
    /// </summary>
    /// <param name="userCode">What to watch, as the job names it: a folder, a .dll or a .csproj.</param>
    /// <param name="built">What the runtime loads: the same path, or a .csproj's build output.</param>
    /// <param name="err">Where the deploy lines go.</param>
    /// <param name="quiet">How long the files must stay unchanged before a deploy.</param>
    /// <exception cref="CodePackageException">The user code cannot be read or holds a symbolic link.</exception>
    public static LiveCode Start(string userCode, string built, TextWriter err, TimeSpan? quiet = null)
    {
        var package = CodePackage.FromPath(built);
        var copies = Directory.CreateTempSubdirectory("jex-watch-");
        try
        {
            var start = WriteCopy(package, copies, 0);
            return new LiveCode(userCode, err, copies, start, package.Sha256Hex, quiet ?? TimeSpan.FromMilliseconds(400));
        }
        catch
        {
            copies.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Where jex.v1.Deploy is served: the ready line's deploy field (for shared memory, the deploy
    /// socket); a gRPC runtime that does not give it serves Deploy on its session address.
    /// </summary>
    public static string? DeployAddress(RuntimeReadyInfo ready) =>
        ready.Deploy ?? (ready.Transport == TransportKinds.GrpcName ? ready.Address : null);

    /// <summary>Watches, and deploys each change, until cancelled.</summary>
    public async Task RunAsync(TransformDriver driver, CancellationToken cancellationToken)
    {
        var (root, include) = CodeWatcher.For(_userCode);
        using var watcher = new CodeWatcher(root, include, _quiet);
        await _err.WriteLineAsync($"jex run --watch: watching {root} for new code").ConfigureAwait(false);
        try
        {
            while (true)
            {
                await watcher.WaitForChangeAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await DeployChangeAsync(driver, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A deploy is never fatal to the job: say what went wrong and wait for the next change.
                    await _err.WriteLineAsync($"jex run --watch: deploy failed ({ex.GetType().Name}: {ex.Message}); the job keeps running on {VersionName(driver)}").ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            _copies.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A runtime still exiting may hold a file open; the folder is in temp and private.
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Deploys the latest code into a runtime that has just started without it (a container gets
    /// no code mounted under --watch), before its session opens. Not counted in <see cref="Deploys"/>.
    /// </summary>
    /// <exception cref="Member.Sessions.JobFailedException">The runtime refused the code: no restart would change that.</exception>
    /// <exception cref="IOException">The runtime did not answer: it is treated as lost and restarted.</exception>
    public async Task DeployToStartedAsync(LiveRuntime runtime, CancellationToken cancellationToken)
    {
        var package = CodePackage.FromPath(StartPath);
        var address = DeployAddress(runtime.Ready)
            ?? throw new Member.Sessions.JobFailedException($"{runtime.Name} did not say where it serves jex.v1.Deploy (no deploy address in its ready line); use a runtime image built from this version of Jex");
        using var client = new DeployClient(address, runtime.Token, "the job's runtime");
        try
        {
            var outcome = await client.DeployAsync(package, $"jex run --watch: {_userCode}", cancellationToken).ConfigureAwait(false);
            await _err.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"jex run --watch: deployed {_userCode} into {runtime.Name} as {outcome.Activate.Version} ({outcome.Upload.Files} file(s); load {outcome.Activate.LoadUs / 1000.0:0.0} ms)")).ConfigureAwait(false);
        }
        catch (DeployException ex) when (ex.IsUnreachable)
        {
            throw new IOException($"{runtime.Name} did not take the job's code: {ex.Message}", ex);
        }
        catch (DeployException ex)
        {
            throw new Member.Sessions.JobFailedException($"{runtime.Name} refused the job's code: {ex.Message}", ex)
            {
                // As the runtime's own exit code 3: the user code does not load.
                ExitCode = ex.Status == Grpc.Core.StatusCode.FailedPrecondition ? 3 : null,
            };
        }
    }

    private async Task DeployChangeAsync(TransformDriver driver, CancellationToken cancellationToken)
    {
        CodePackage package;
        try
        {
            package = await DeployCommand.PackageAsync(_userCode, _err, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CodePackageException or PreflightException or IOException)
        {
            await _err.WriteLineAsync($"jex run --watch: not deployed: {ex.Message}; the job keeps running on {VersionName(driver)}").ConfigureAwait(false);
            return;
        }

        if (package.Sha256Hex == _lastSha)
        {
            // Touched, rebuilt to the same bytes, or copied over with the same files.
            return;
        }

        var runtime = await WaitForRuntimeAsync(driver, cancellationToken).ConfigureAwait(false);
        var address = runtime is null ? null : DeployAddress(runtime.Ready);
        if (runtime is null || address is null)
        {
            await _err.WriteLineAsync(runtime is null
                ? $"jex run --watch: not deployed: no runtime has served the job for {RuntimeWait.TotalSeconds:0} s; change the code again once it runs"
                : $"jex run --watch: not deployed: {runtime.Name} did not say where it serves jex.v1.Deploy (no deploy address in its ready line); use a runtime built from this version of Jex").ConfigureAwait(false);
            return;
        }

        var n = _deploys + 1;
        using var client = new DeployClient(address, runtime.Token, "the job's runtime");
        var firstResult = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? awaited = null;
        void OnVersion(string version)
        {
            if (version == Volatile.Read(ref awaited))
            {
                firstResult.TrySetResult(Stopwatch.GetTimestamp());
            }
        }

        driver.Stats.CodeVersionChanged += OnVersion;
        try
        {
            var upload = Stopwatch.StartNew();
            var uploaded = await client.UploadAsync(package, string.Create(CultureInfo.InvariantCulture, $"jex run --watch #{n}: {package.Source}"), cancellationToken).ConfigureAwait(false);
            upload.Stop();
            Volatile.Write(ref awaited, uploaded.Version);
            var activateStarted = Stopwatch.GetTimestamp();
            var activated = await client.ActivateAsync(uploaded.Version, cancellationToken).ConfigureAwait(false);
            var activateTime = Stopwatch.GetElapsedTime(activateStarted);
            _lastSha = package.Sha256Hex;
            Interlocked.Increment(ref _deploys);
            RenewCopy(package);

            string first;
            if (driver.Stats.CodeVersion == uploaded.Version && !firstResult.Task.IsCompleted)
            {
                first = "first result on it before Activate returned";
            }
            else if (await Task.WhenAny(firstResult.Task, Task.Delay(FirstResultWait, cancellationToken)).ConfigureAwait(false) == firstResult.Task)
            {
                first = string.Create(CultureInfo.InvariantCulture,
                    $"first result on it {Stopwatch.GetElapsedTime(activateStarted, firstResult.Task.Result).TotalMilliseconds:0.0} ms after Activate");
            }
            else
            {
                first = string.Create(CultureInfo.InvariantCulture, $"no result on it within {FirstResultWait.TotalSeconds:0} s (no traffic?)");
            }

            await _err.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"deploy {n}: {activated.Version} (was {(activated.PreviousVersion.Length > 0 ? activated.PreviousVersion : "none")}) from {package.Source}: {uploaded.Files} file(s), {uploaded.Bytes / 1024.0:0.0} KiB; upload {upload.Elapsed.TotalMilliseconds:0.0} ms, switch {activateTime.TotalMilliseconds:0.0} ms (load {activated.LoadUs / 1000.0:0.0} ms), {first}")).ConfigureAwait(false);
        }
        catch (DeployException ex)
        {
            if (!ex.IsUnreachable)
            {
                // The same files would be refused the same way: wait for the next change.
                _lastSha = package.Sha256Hex;
            }

            await _err.WriteLineAsync($"jex run --watch: deploy of {package.Source} failed: {ex.Message}; the job keeps running on {VersionName(driver)}").ConfigureAwait(false);
        }
        finally
        {
            driver.Stats.CodeVersionChanged -= OnVersion;
        }
    }

    private static string VersionName(TransformDriver driver) =>
        driver.Stats.CodeVersion is { Length: > 0 } version ? "version " + version : "the code it has";

    private static async Task<LiveRuntime?> WaitForRuntimeAsync(TransformDriver driver, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (driver.CurrentRuntime is null && clock.Elapsed < RuntimeWait)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return driver.CurrentRuntime;
    }

    private void RenewCopy(CodePackage package)
    {
        // Earlier copies stay until the run ends: the runtime may still load a dependency of its
        // startup code from one, or be rolled back to it (Activate v0 reloads UserCode:Path).
        try
        {
            Volatile.Write(ref _startPath, WriteCopy(package, _copies, Interlocked.Increment(ref _copyCount)));
        }
        catch (IOException ex)
        {
            _err.WriteLine($"jex run --watch: could not keep a copy of the deployed code for restarts ({ex.Message}); a restarted runtime starts on the code before it");
        }
    }

    private static string WriteCopy(CodePackage package, DirectoryInfo copies, int n)
    {
        var folder = Directory.CreateDirectory(Path.Combine(copies.FullName, n.ToString(CultureInfo.InvariantCulture)));
        if (package.Kind == PackageKind.Assembly)
        {
            var file = Path.Combine(folder.FullName, package.FileName);
            File.WriteAllBytes(file, package.Bytes);
            return file;
        }

        using var zip = new ZipArchive(new MemoryStream(package.Bytes), ZipArchiveMode.Read);
        zip.ExtractToDirectory(folder.FullName);
        return folder.FullName;
    }
}

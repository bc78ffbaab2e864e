using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;

namespace Jex.Cli.Bench.Peer;

/// <summary>
/// Hazelcast Jet's Python user-code server, started the way Jet starts it, from a folder the user
/// prepared (<c>--jetpy DIR</c>): <c>python3 -u DIR/jet_to_python_grpc_server.py PORT MODULE FUNCTION</c>,
/// where PORT is a loopback socket this process listens on. The server binds its gRPC endpoint to a
/// free port, connects to PORT and writes that port and a newline ("phones back"); that line is
/// ready. It stops when it reads <c>stop</c> on stdin. The handler module is the bench's own
/// identity, written to a temporary folder on PYTHONPATH: the peer's code stays in the user's folder.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class JetPyPeer : IAsyncDisposable
{
    private const string HandlerModule = "jex_bench_peer_handler";
    private const string HandlerFunction = "identity";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _handlerDir;
    private readonly Queue<string> _tail = new();

    private JetPyPeer(Process process, string handlerDir)
    {
        _process = process;
        _handlerDir = handlerDir;
    }

    public int Pid => _process.Id;

    /// <summary>The peer's gRPC endpoint, <c>http://127.0.0.1:PORT</c>.</summary>
    public string Address { get; private set; } = string.Empty;

    public double ForkToReadyMs { get; private set; }

    public double CpuToReadyMs { get; private set; }

    public static async Task<JetPyPeer> StartAsync(string folder, CancellationToken cancellationToken)
    {
        var handlerDir = Directory.CreateTempSubdirectory("jex-bench-jetpy-").FullName;
        await File.WriteAllTextAsync(
            Path.Combine(handlerDir, HandlerModule + ".py"),
            $"# Written by jex bench --jetpy: the identity the peer runs.\ndef {HandlerFunction}(input_list):\n    return input_list\n",
            cancellationToken).ConfigureAwait(false);

        using var phoneBack = new TcpListener(IPAddress.Loopback, 0);
        phoneBack.Start(1);
        var port = ((IPEndPoint)phoneBack.LocalEndpoint).Port;
        var info = new ProcessStartInfo(JetPyFolder.Python)
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-u", Path.Combine(folder, JetPyFolder.Server), port.ToString(CultureInfo.InvariantCulture), HandlerModule, HandlerFunction })
        {
            info.ArgumentList.Add(arg);
        }

        var existing = Environment.GetEnvironmentVariable("PYTHONPATH");
        info.Environment["PYTHONPATH"] = string.IsNullOrEmpty(existing) ? handlerDir : handlerDir + Path.PathSeparator + existing;

        var watch = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new PathUnavailableException($"could not start {JetPyFolder.Python} {JetPyFolder.Server}");
        var peer = new JetPyPeer(process, handlerDir);
        process.OutputDataReceived += (_, e) => peer.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadyTimeout);
            var accept = phoneBack.AcceptTcpClientAsync(timeout.Token).AsTask();
            var exited = process.WaitForExitAsync(timeout.Token);
            if (await Task.WhenAny(accept, exited).ConfigureAwait(false) != accept)
            {
                throw new PathUnavailableException($"the peer ({JetPyFolder.Server} in {folder}) exited with code {process.ExitCode} before it phoned back; its output:\n{peer.RecentOutput}");
            }

            using var client = await accept.ConfigureAwait(false);
            using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
            var line = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (!int.TryParse(line?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var grpcPort) || grpcPort is <= 0 or > 65535)
            {
                throw new PathUnavailableException($"the peer ({JetPyFolder.Server} in {folder}) phoned back '{line}', not its gRPC port");
            }

            peer.ForkToReadyMs = watch.Elapsed.TotalMilliseconds;
            peer.CpuToReadyMs = (ProcStat.CpuMicroseconds(process.Id) ?? double.NaN) / 1000;
            peer.Address = "http://127.0.0.1:" + grpcPort.ToString(CultureInfo.InvariantCulture);
            return peer;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            throw new PathUnavailableException($"the peer ({JetPyFolder.Server} in {folder}) did not phone back within {ReadyTimeout.TotalSeconds:F0} s; its output:\n{peer.RecentOutput}");
        }
        catch
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public string RecentOutput
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 40)
            {
                _tail.Dequeue();
            }
        }
    }

    /// <summary>Asks the peer to stop as Jet does (<c>stop</c> on stdin), and kills it if it has not within 5 s.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("stop").ConfigureAwait(false);
                await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // It exited meanwhile: nothing to stop.
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_handlerDir, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

/// <summary>What a <c>--jetpy</c> folder must hold, and how the peer is run.</summary>
internal static class JetPyFolder
{
    public const string Server = "jet_to_python_grpc_server.py";

    /// <summary>The files a peer folder must hold: the server and the modules it imports.</summary>
    public static readonly string[] RequiredFiles = [Server, "jet_to_python_pb2.py", "jet_to_python_pb2_grpc.py"];

    public const string Python = "/usr/bin/python3";

    /// <summary>
    /// What is wrong with <paramref name="folder"/> as a peer folder, or null when it holds
    /// everything <see cref="JetPyPeer.StartAsync"/> needs.
    /// </summary>
    public static string? Problem(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return $"--jetpy {folder}: no such folder; give the folder that holds Hazelcast's {string.Join(", ", RequiredFiles)}";
        }

        var missing = RequiredFiles.Where(f => !File.Exists(Path.Combine(folder, f))).ToList();
        if (missing.Count > 0)
        {
            return $"--jetpy {folder}: the folder has no {string.Join(", no ", missing)}; it must hold {string.Join(", ", RequiredFiles)} "
                + "as Hazelcast ships them for mapUsingPython (the jet-python extension's resources)";
        }

        return File.Exists(Python) ? null : $"--jetpy {folder}: {Python} does not exist; the peer runs with it (it needs the grpcio module)";
    }
}

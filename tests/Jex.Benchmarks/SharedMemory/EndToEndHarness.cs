using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Member.Transports;
using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Benchmarks.SharedMemory;

/// <summary>
/// End to end through a real jex-runtime (out/runtime, built by ./demo.sh build): the same identity
/// workload over shared memory and over gRPC TCP, in one run.
///   dotnet run -c Release --project tests/Jex.Benchmarks -- shm-e2e [seconds]
/// Throughput: 256-item batches of 64-byte values, 4 in flight. Latency: sequential batches of one
/// item. Allocation: the runtime's own allocated-bytes counter (Ping/Pong) around the throughput run.
/// </summary>
internal static class EndToEndHarness
{
    private const int ItemsPerBatch = 256;
    private const int InFlight = 4;
    private const string Token = "bench-token";

    public static int Run(string[] args)
    {
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var root = FindRoot();
        Console.WriteLine($"jex end-to-end, {Environment.ProcessorCount} cores, {seconds} s per measurement, runtime {Path.Combine(root, "out/runtime/jex-runtime")}");
        Console.WriteLine($"{"transport",-14} {"events/s",12} {"B alloc/event",14} {"rt p50 us",10} {"rt p99 us",10} {"rt p99.9 us",12}");
        var shm = Measure(root, "shared-memory", seconds);
        var grpc = Measure(root, "grpc-tcp", seconds);
        Console.WriteLine($"shared memory / gRPC TCP throughput: {shm.EventsPerSecond / grpc.EventsPerSecond:F2}x");
        return 0;
    }

    private sealed record Result(double EventsPerSecond, double AllocatedPerEvent, double P50, double P99, double P999);

    private static Result Measure(string root, string transport, double seconds)
    {
        var uid = "bench-" + Guid.NewGuid().ToString("N")[..8];
        string[] transportArgs = transport == "shared-memory"
            ? ["--UserCode:Transport=shared-memory", $"--UserCode:Uid={uid}"]
            : ["--UserCode:Grpc:Port=0"];
        var info = new ProcessStartInfo(Path.Combine(root, "out/runtime/jex-runtime"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add($"--UserCode:Path={Path.Combine(root, "out/samples")}");
        info.ArgumentList.Add("--UserCode:LogLevel=Warning");
        foreach (var a in transportArgs)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["UserCode__Token"] = Token;
        using var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        try
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null && !line.StartsWith("JEX-READY ", StringComparison.Ordinal))
            {
            }

            var address = JsonDocument.Parse(line!["JEX-READY ".Length..]).RootElement.GetProperty("address").GetString()!;
            var result = RunAsync(transport, address, seconds).GetAwaiter().GetResult();
            Console.WriteLine($"{transport,-14} {result.EventsPerSecond,12:N0} {result.AllocatedPerEvent,14:F1} {result.P50,10:F1} {result.P99,10:F1} {result.P999,12:F1}");
            return result;
        }
        finally
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    private static async Task<Result> RunAsync(string transport, string address, double seconds)
    {
        await using var channel = Open(transport, address);
        await channel.SendAsync(new MemberMessage
        {
            Init = new Init { ProtocolVersion = ProtocolContract.Version, Token = Token, Function = "identity", KeyFormat = Format.Bytes, ValueFormat = Format.Bytes, MaxInFlight = InFlight },
        }, CancellationToken.None);
        var ready = await channel.ReadAsync(CancellationToken.None);
        if (ready?.Ready is null)
        {
            throw new InvalidOperationException("no Ready: " + ready);
        }

        var items = Enumerable.Range(0, ItemsPerBatch).Select(i => new Item
        {
            Key = ByteString.CopyFrom(BitConverter.GetBytes(i)),
            Value = ByteString.CopyFrom(Enumerable.Repeat((byte)i, 64).ToArray()),
            Partition = 1,
            Sequence = i,
        }).ToArray();
        ulong nextId = 1;

        // Warm up, then throughput with the runtime's allocation counter around it.
        _ = await ThroughputAsync(channel, items, () => nextId++, TimeSpan.FromSeconds(Math.Min(2, seconds)));
        var before = await StatsAsync(channel);
        var (events, elapsed) = await ThroughputAsync(channel, items, () => nextId++, TimeSpan.FromSeconds(seconds));
        var after = await StatsAsync(channel);
        var allocated = (double)(after.AllocatedBytes - before.AllocatedBytes) / events;

        // Round trip of a batch of one, one at a time.
        var one = new[] { items[0] };
        var samples = new List<double>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var batch = new Batch { Id = nextId++, Items = { one } };
            var start = Stopwatch.GetTimestamp();
            await channel.SendAsync(new MemberMessage { Batch = batch }, CancellationToken.None);
            var reply = await channel.ReadAsync(CancellationToken.None);
            var end = Stopwatch.GetTimestamp();
            if (reply?.Result is null)
            {
                throw new InvalidOperationException("expected a result, got " + reply);
            }

            samples.Add((end - start) * 1e6 / Stopwatch.Frequency);
        }

        samples.Sort();
        double P(double q) => samples[Math.Min(samples.Count - 1, (int)(q * samples.Count))];
        return new Result(events / elapsed.TotalSeconds, allocated, P(0.5), P(0.99), P(0.999));
    }

    private static async Task<(long Events, TimeSpan Elapsed)> ThroughputAsync(ISessionChannel channel, Item[] items, Func<ulong> nextId, TimeSpan duration)
    {
        using var slots = new SemaphoreSlim(InFlight, InFlight);
        var stop = false;
        long sent = 0;
        var watch = Stopwatch.StartNew();
        var sender = Task.Run(async () =>
        {
            while (!Volatile.Read(ref stop))
            {
                await slots.WaitAsync();
                await channel.SendAsync(new MemberMessage { Batch = new Batch { Id = nextId(), Items = { items } } }, CancellationToken.None);
                Interlocked.Increment(ref sent);
            }
        });
        long received = 0;
        long events = 0;
        while (true)
        {
            if (watch.Elapsed >= duration)
            {
                Volatile.Write(ref stop, true);
            }

            if (Volatile.Read(ref stop) && sender.IsCompleted && received == Interlocked.Read(ref sent))
            {
                break;
            }

            var m = await channel.ReadAsync(CancellationToken.None) ?? throw new InvalidOperationException("stream ended");
            if (m.Result is { } r)
            {
                received++;
                events += r.Results.Count;
                slots.Release();
            }
        }

        await sender;
        return (events, watch.Elapsed);
    }

    private static async Task<RuntimeStats> StatsAsync(ISessionChannel channel)
    {
        await channel.SendAsync(new MemberMessage { Ping = new Ping { Nonce = 1 } }, CancellationToken.None);
        while (true)
        {
            var m = await channel.ReadAsync(CancellationToken.None) ?? throw new InvalidOperationException("stream ended");
            if (m.Pong is { } pong)
            {
                return pong.Stats;
            }
        }
    }

    private static ISessionChannel Open(string transport, string address) =>
        transport == "shared-memory" ? SharedMemorySessionChannel.Open(address) : GrpcChannelAdapter.Open(address);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jex.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Jex.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A plain grpc-dotnet Transform stream as an ISessionChannel, for the comparison.</summary>
    private sealed class GrpcChannelAdapter(GrpcChannel channel, AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> call) : ISessionChannel
    {
        public static GrpcChannelAdapter Open(string address)
        {
            var channel = GrpcChannel.ForAddress(address);
            return new GrpcChannelAdapter(channel, new Jex.Protocol.V1.UserCode.UserCodeClient(channel).Transform());
        }

        public async ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken) =>
            await call.RequestStream.WriteAsync(message, cancellationToken);

        public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken) =>
            await call.ResponseStream.MoveNext(cancellationToken) ? call.ResponseStream.Current : null;

        public async ValueTask CompleteAsync(CancellationToken cancellationToken) => await call.RequestStream.CompleteAsync();

        public ValueTask DisposeAsync()
        {
            call.Dispose();
            channel.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

using System.Diagnostics;
using System.Runtime.Versioning;
using Grpc.Core;

namespace Jex.Cli.Bench.Peer;

/// <summary>
/// Drives one <c>streamingCall</c> of the Jet Python peer as <see cref="Workload"/> drives a Jex
/// session: up to <c>in flight</c> batches outstanding (closed loop) or sent on a schedule (open
/// loop). A batch is one InputMessage of <c>batch</c> strings of <c>payload</c> ASCII characters;
/// the peer answers each with one OutputMessage, in order, so round trips are matched first in,
/// first out. Every output string is compared with the one sent (identity).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class JetPyWorkload : ICellWorkload, IAsyncDisposable
{
    private const int Window = 1024;

    private readonly Cell _cell;
    private readonly int _peerPid;
    private readonly AsyncDuplexStreamingCall<InputMessage, OutputMessage> _call;
    private readonly InputMessage _batch = new();
    private readonly long[] _sentAt = new long[Window];
    private long _sent;
    private long _received;

    public JetPyWorkload(JetToPython.JetToPythonClient client, Cell cell, int peerPid)
    {
        if (cell.InFlight >= Window)
        {
            throw new ArgumentException($"at most {Window - 1} batches in flight for the peer, not {cell.InFlight}", nameof(cell));
        }

        _cell = cell;
        _peerPid = peerPid;
        for (var i = 0; i < cell.Batch; i++)
        {
            _batch.InputValue.Add(Item(i, cell.Payload));
        }

        _call = client.streamingCall();
    }

    public bool MeasuresAllocation => false;

    public double? RuntimeCpuMicroseconds() => ProcStat.CpuMicroseconds(_peerPid);

    /// <summary>Item <paramref name="index"/>: its number, then letters, <paramref name="length"/> characters in all, so no two in a batch are equal.</summary>
    public static string Item(int index, int length)
    {
        var head = index.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";
        return string.Create(length, head, static (span, h) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = i < h.Length ? h[i] : (char)('a' + (i % 26));
            }
        });
    }

    public async Task<RunSample> RunAsync(TimeSpan duration, double? batchesPerSecond, CancellationToken cancellationToken)
    {
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        runCts.CancelAfter(duration + TimeSpan.FromSeconds(60));
        cancellationToken = runCts.Token;
        var latencies = new List<long>(1 << 12);
        var cpu0 = CpuMark.Now(_peerPid);
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var firstReceived = _received;
        long lastAt = start;

        if (batchesPerSecond is not { } rate)
        {
            // Closed loop: the reader sends the next batch as each result arrives.
            for (var i = 0; i < _cell.InFlight; i++)
            {
                await SendAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
            }

            while (_received < _sent)
            {
                lastAt = await ReceiveAsync(latencies, cancellationToken).ConfigureAwait(false);
                if (lastAt < end)
                {
                    await SendAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        else
        {
            // Open loop: a sender keeps the schedule (each round trip counts from its scheduled
            // time); the reader is signalled once per batch sent, and once more when the sender is done.
            var period = Stopwatch.Frequency / rate;
            using var slots = new SemaphoreSlim(_cell.InFlight, _cell.InFlight);
            using var outstanding = new SemaphoreSlim(0);
            var senderDone = false;
            var sender = Task.Run(async () =>
            {
                try
                {
                    for (long n = 0; ; n++)
                    {
                        var due = start + (long)(n * period);
                        if (due >= end)
                        {
                            break;
                        }

                        Workload.WaitUntil(due);
                        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                        await SendAsync(due, cancellationToken).ConfigureAwait(false);
                        outstanding.Release();
                    }
                }
                finally
                {
                    Volatile.Write(ref senderDone, true);
                    outstanding.Release();
                }
            }, cancellationToken);

            while (true)
            {
                await outstanding.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (Volatile.Read(ref senderDone) && _received == Interlocked.Read(ref _sent))
                {
                    break;
                }

                lastAt = await ReceiveAsync(latencies, cancellationToken).ConfigureAwait(false);
                slots.Release();
            }

            await sender.ConfigureAwait(false);
        }

        var (peerCpu, memberCpu, otherCores) = CpuMark.Now(_peerPid).Since(cpu0, _peerPid);
        var batches = _received - firstReceived;
        return new RunSample(batches * _cell.Batch, batches, (double)(lastAt - start) / Stopwatch.Frequency, [.. latencies], 0, peerCpu, memberCpu)
        {
            OtherCores = otherCores,
        };
    }

    private async Task SendAsync(long sentAt, CancellationToken cancellationToken)
    {
        _sentAt[_sent % Window] = sentAt;
        Interlocked.Increment(ref _sent);
        await _call.RequestStream.WriteAsync(_batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the next result, checks it against the batch sent, records its round trip; returns when it arrived.</summary>
    private async Task<long> ReceiveAsync(List<long> latencies, CancellationToken cancellationToken)
    {
        if (!await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"the peer ended the stream with {Interlocked.Read(ref _sent) - _received} batch(es) unanswered");
        }

        var now = Stopwatch.GetTimestamp();
        var output = _call.ResponseStream.Current.OutputValue;
        var number = _received + 1;
        if (output.Count != _batch.InputValue.Count)
        {
            throw new InvalidOperationException($"peer result {number}: {output.Count} outputs for {_batch.InputValue.Count} inputs");
        }

        for (var i = 0; i < output.Count; i++)
        {
            if (!string.Equals(output[i], _batch.InputValue[i], StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"peer result {number}, item {i}: output '{output[i]}' is not the input '{_batch.InputValue[i]}' (identity)");
            }
        }

        latencies.Add(now - _sentAt[_received % Window]);
        _received++;
        return now;
    }

    /// <summary>Ends the request stream and reads the response stream to its end, so the peer's one worker is free for the next cell.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
        while (await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        return ValueTask.CompletedTask;
    }
}

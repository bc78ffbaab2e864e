using System.Diagnostics;
using System.Runtime.Versioning;
using Google.Protobuf;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Cli.Bench;

/// <summary>One cell of the matrix: what is sent and how.</summary>
internal sealed record Cell(string Path, int Payload, int Batch, int InFlight, string Function, string Format, string Ordering = Cell.BatchOrder)
{
    public const string BatchOrder = "batch";

    /// <summary>ORDERING_KEY, with <see cref="Keys"/> distinct keys and at most <see cref="Concurrency"/> items at once.</summary>
    public const string KeyOrder = "key";

    public const int Keys = 64;

    public const int Concurrency = 64;

    /// <summary>The sample function the runtime runs: <see cref="Function"/>, or its Compact counterpart.</summary>
    public string UserFunction => Format == CompactWorkload.FormatName ? CompactWorkload.UserFunction(Function) : Function;

    public bool KeyOrdered => Ordering == KeyOrder;

    /// <summary>The function as the report's table names it: key-ordered cells say so.</summary>
    public string FunctionLabel => KeyOrdered ? $"{Function} (key order, {Keys} keys, concurrency {Concurrency})" : Function;

    public override string ToString() =>
        $"{Path} {Payload}B x{Batch} if{InFlight} {Function} {Format}" + (KeyOrdered ? $" key{Keys}/c{Concurrency}" : "");
}

/// <summary>The outcome of one timed run.</summary>
internal sealed record RunSample(long Events, long Batches, double Seconds, long[] LatencyTicks, ulong RuntimeAllocated, double RuntimeCpuUs, double MemberCpuUs)
{
    public double EventsPerSecond => Events / Seconds;

    /// <summary>Cores the rest of the machine kept busy during the run (see <see cref="CellResult.RepeatOtherCores"/>); NaN when unknown.</summary>
    public double OtherCores { get; init; } = double.NaN;
}

/// <summary>
/// CPU time of the runtime, of this process and of the whole machine across one run, so the
/// run's sample can say how busy the rest of the machine was meanwhile.
/// </summary>
[SupportedOSPlatform("linux")]
internal readonly record struct CpuMark(long At, double Runtime, double Member, double? Machine)
{
    public static CpuMark Now(int runtimePid) => new(
        Stopwatch.GetTimestamp(),
        ProcStat.CpuMicroseconds(runtimePid) ?? 0,
        ProcStat.CpuMicroseconds(Environment.ProcessId) ?? 0,
        ProcStat.MachineBusyMicroseconds());

    /// <summary>Runtime and member CPU microseconds since <paramref name="start"/>, and the cores everything else used.</summary>
    public (double RuntimeUs, double MemberUs, double OtherCores) Since(CpuMark start, int runtimePid)
    {
        var runtime = Runtime - start.Runtime;
        var member = Member - start.Member;
        var wallUs = (At - start.At) * 1e6 / Stopwatch.Frequency;
        // Direct: the runtime is this process, counted once.
        var ours = runtimePid == Environment.ProcessId ? member : runtime + member;
        var other = Machine is { } end && start.Machine is { } begin && wallUs > 0
            ? Math.Max(0, (end - begin - ours) / wallUs)
            : double.NaN;
        return (runtime, member, other);
    }
}

/// <summary>
/// Drives one open session: a sender keeps up to <c>in flight</c> batches outstanding (closed
/// loop) or sends on a fixed schedule (open loop), a reader takes results and records each batch's
/// round trip. Batch messages are pooled and reused once their result is back, so the member side
/// allocates next to nothing and the runtime's allocation can be read from its Pong.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class Workload : ICellWorkload
{
    public bool MeasuresAllocation => true;

    public double? RuntimeCpuMicroseconds() => ProcStat.CpuMicroseconds(_runtimePid);

    private const int Window = 1024;
    private const ulong MarkerNonce = ulong.MaxValue;

    private readonly ISessionChannel _channel;
    private readonly Cell _cell;
    private readonly int _runtimePid;
    private readonly MemberMessage[] _pool;
    private readonly CompactWorkload? _compact;
    private readonly long[] _sentAt = new long[Window];
    private ulong _nextId = 1;
    private ulong _nonce;
    private bool _outputChecked;

    public Workload(ISessionChannel channel, Cell cell, int runtimePid)
    {
        _channel = channel;
        _cell = cell;
        _runtimePid = runtimePid;
        _compact = cell.Format == CompactWorkload.FormatName ? CompactWorkload.For(cell.Payload) : null;
        var value = _compact?.Value ?? UnsafeByteOperations.UnsafeWrap(Enumerable.Range(0, cell.Payload).Select(i => (byte)i).ToArray());
        var rawKey = UnsafeByteOperations.UnsafeWrap(new byte[8]);
        // Key order: Cell.Keys distinct keys, round robin over the batch, so equal keys wait for each other.
        var distinct = Enumerable.Range(0, Cell.Keys).Select(k => UnsafeByteOperations.UnsafeWrap(BitConverter.GetBytes((long)k))).ToArray();
        var keys = Enumerable.Range(0, cell.Batch)
            .Select(i => _compact is not null ? CompactWorkload.KeyFor(i) : cell.KeyOrdered ? distinct[i % Cell.Keys] : rawKey).ToArray();

        // The direct path hands the Batch object itself to the runtime, so a pooled message is
        // reused only long after its result came back.
        _pool = new MemberMessage[(cell.InFlight * 4) + 16];
        for (var p = 0; p < _pool.Length; p++)
        {
            var batch = new Batch();
            for (var i = 0; i < cell.Batch; i++)
            {
                batch.Items.Add(new Item { Key = keys[i], Value = value, TimestampMs = 1_700_000_000_000 + i, Partition = i % 271, Sequence = i });
            }

            _pool[p] = new MemberMessage { Batch = batch };
        }
    }

    public static Init InitFor(Cell cell, string token) => new()
    {
        ProtocolVersion = ProtocolContract.Version,
        Token = token,
        JobId = "bench",
        JobName = "jex-bench",
        StageName = cell.ToString(),
        Function = cell.UserFunction,
        KeyFormat = cell.Format == CompactWorkload.FormatName ? Format.Hazelcast : Format.Bytes,
        ValueFormat = cell.Format == CompactWorkload.FormatName ? Format.Hazelcast : Format.Bytes,
        MaxInFlight = (uint)cell.InFlight,
        LogLevel = Protocol.V1.LogLevel.Warning,
        Ordering = cell.KeyOrdered ? Ordering.Key : Ordering.Batch,
        MaxConcurrency = cell.KeyOrdered ? (uint)Cell.Concurrency : 0u,
    };

    public async Task OpenAsync(string token, CancellationToken cancellationToken)
    {
        await _channel.SendAsync(new MemberMessage { Init = InitFor(_cell, token) }, cancellationToken).ConfigureAwait(false);
        var first = await _channel.ReadAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the runtime ended the session before Ready");
        if (first.KindCase != RuntimeMessage.KindOneofCase.Ready)
        {
            throw new InvalidOperationException($"expected Ready, got {first}");
        }

        if (_compact is not null)
        {
            await _channel.SendAsync(new MemberMessage { Schemas = CompactWorkload.SchemasMessage() }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        await _channel.SendAsync(new MemberMessage { Drain = new Drain() }, cancellationToken).ConfigureAwait(false);
        await _channel.CompleteAsync(cancellationToken).ConfigureAwait(false);

        // Read to the end of the stream (after Drained), so the transport is idle when disposed.
        while (await _channel.ReadAsync(cancellationToken).ConfigureAwait(false) is not null)
        {
        }
    }

    /// <summary>
    /// Runs for <paramref name="duration"/>. With <paramref name="batchesPerSecond"/> null, closed
    /// loop; otherwise each batch has a scheduled send time and its round trip is measured from
    /// that time, not from when it was actually sent, which corrects coordinated omission (a stall
    /// delays the sends behind it, and their wait counts).
    /// </summary>
    public async Task<RunSample> RunAsync(TimeSpan duration, double? batchesPerSecond, CancellationToken cancellationToken)
    {
        // A run never hangs the benchmark: a failing sender or a silent runtime cancels the reader.
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        runCts.CancelAfter(duration + TimeSpan.FromSeconds(60));
        cancellationToken = runCts.Token;
        var before = await PingAsync(cancellationToken).ConfigureAwait(false);
        var cpu0 = CpuMark.Now(_runtimePid);

        var latencies = new List<long>(batchesPerSecond is { } r ? (int)Math.Min(4_000_000, r * duration.TotalSeconds * 1.2) + 16 : 1 << 16);
        using var inFlight = new SemaphoreSlim(_cell.InFlight, _cell.InFlight);
        long sent = 0;
        long sentTotal = long.MaxValue;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var period = batchesPerSecond is { } rate ? Stopwatch.Frequency / rate : 0;

        // Closed loop: the reading loop itself sends the next batch as each result arrives (one task,
        // no hand-off per batch, as a member's processor would); here only the first batches go out.
        // Open loop: a sender task keeps the schedule.
        Task sender;
        if (period == 0)
        {
            for (var i = 0; i < _cell.InFlight; i++)
            {
                sent++;
                await SendNextAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
            }

            sender = Task.CompletedTask;
        }
        else
        {
            sender = StartSender();
        }

        Task StartSender() => Task.Run(async () =>
        {
            for (long n = 0; ; n++)
            {
                long due = 0;
                if (period > 0)
                {
                    due = start + (long)(n * period);
                    if (due >= end)
                    {
                        break;
                    }

                    WaitUntil(due);
                }
                else if (Stopwatch.GetTimestamp() >= end)
                {
                    break;
                }

                await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
                sent++;
                await SendNextAsync(due, cancellationToken).ConfigureAwait(false);
            }

            // The marker: once its Pong is back and every batch sent has its result, the run is over.
            Interlocked.Exchange(ref sentTotal, sent);
            await _channel.SendAsync(new MemberMessage { Ping = new Ping { Nonce = MarkerNonce } }, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
        _ = sender.ContinueWith(_ => runCts.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        long events = 0, batches = 0, lastAt = start;
        var markerSeen = false;
        while (!markerSeen || batches < Interlocked.Read(ref sentTotal))
        {
            RuntimeBytes? bytes;
            try
            {
                bytes = await _channel.ReadBytesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (sender.IsFaulted)
            {
                await sender.ConfigureAwait(false);
                throw;
            }

            if (bytes is null)
            {
                throw new InvalidOperationException("the runtime ended the session during the run");
            }

            var now = Stopwatch.GetTimestamp();

            // Results are counted from their bytes, not decoded into an object per item: the
            // member's cost stays out of the measurement (it is what a Java member would not pay).
            if (bytes.TryReadResult(out var result))
            {
                latencies.Add(now - _sentAt[result.BatchId % Window]);
                Check(result, bytes);
                bytes.Release();
                events += result.Items;
                batches++;
                lastAt = now;
                if (period > 0)
                {
                    inFlight.Release();
                }
                else if (now < end)
                {
                    sent++;
                    await SendNextAsync(Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
                }
                else if (!markerSeen && Interlocked.Read(ref sentTotal) == long.MaxValue)
                {
                    // Time is up: the rest in flight come back, then the run is over.
                    Interlocked.Exchange(ref sentTotal, sent);
                    markerSeen = true;
                }

                continue;
            }

            var message = bytes.ToMessage();
            bytes.Release();
            switch (message.KindCase)
            {
                case RuntimeMessage.KindOneofCase.Pong when message.Pong.Nonce == MarkerNonce:
                    markerSeen = true;
                    break;
                case RuntimeMessage.KindOneofCase.Schemas:
                    _compact?.Learn(message.Schemas);
                    break;
                case RuntimeMessage.KindOneofCase.Error:
                    throw new InvalidOperationException("protocol error from the runtime: " + message.Error);
                default:
                    break;
            }
        }

        await sender.ConfigureAwait(false);
        var seconds = (double)(lastAt - start) / Stopwatch.Frequency;
        var (runtimeCpu, memberCpu, otherCores) = CpuMark.Now(_runtimePid).Since(cpu0, _runtimePid);
        var after = await PingAsync(cancellationToken).ConfigureAwait(false);
        return new RunSample(events, batches, seconds, [.. latencies], after.AllocatedBytes - before.AllocatedBytes, runtimeCpu, memberCpu)
        {
            OtherCores = otherCores,
        };
    }

    /// <summary>Sends the next pooled batch, stamped with the time its round trip counts from.</summary>
    private ValueTask SendNextAsync(long sentAt, CancellationToken cancellationToken)
    {
        var id = _nextId++;
        var message = _pool[(int)(id % (ulong)_pool.Length)];
        message.Batch.Id = id;
        _sentAt[id % Window] = sentAt;
        return _channel.SendAsync(message, cancellationToken);
    }

    private void Check(ResultSummary result, RuntimeBytes bytes)
    {
        if (result.Items != _cell.Batch)
        {
            throw new InvalidOperationException($"batch {result.BatchId}: {result.Items} results for {_cell.Batch} items");
        }

        if (result.Failed > 0)
        {
            // Decoded only to say what went wrong.
            var first = bytes.ToMessage().Result.Results.First(r => r.OutcomeCase != ItemResult.OutcomeOneofCase.Ok);
            throw new InvalidOperationException($"batch {result.BatchId}: item failed ({result.Failed} of {result.Items}; the first shown): {first.Error}");
        }

        if (result.NotOneOutput > 0)
        {
            throw new InvalidOperationException($"batch {result.BatchId}: {result.NotOneOutput} item(s) do not have exactly 1 output");
        }

        // The session's first output value is decoded in full; the rest are counted only.
        if (_compact is not null && !_outputChecked)
        {
            _compact.CheckOutput(bytes.Slice(result.FirstValueStart, result.FirstValueLength), $"batch {result.BatchId}, item 0");
            _outputChecked = true;
        }
    }

    private async Task<RuntimeStats> PingAsync(CancellationToken cancellationToken)
    {
        var nonce = ++_nonce;
        await _channel.SendAsync(new MemberMessage { Ping = new Ping { Nonce = nonce } }, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var m = await _channel.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("the runtime ended the session while waiting for Pong");
            if (m.KindCase == RuntimeMessage.KindOneofCase.Pong && m.Pong.Nonce == nonce)
            {
                return m.Pong.Stats;
            }
        }
    }

    /// <summary>
    /// Waits for a send time with sub-millisecond precision: sleeps while far off, then yields the
    /// core (this machine has two, and the runtime needs one) until the time comes.
    /// </summary>
    internal static void WaitUntil(long due)
    {
        while (true)
        {
            var left = due - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            if (left > Stopwatch.Frequency / 500)
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.Yield();
            }
        }
    }
}

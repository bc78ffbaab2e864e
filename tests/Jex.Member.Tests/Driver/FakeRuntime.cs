using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Jex.Member.Driver;
using Jex.Member.Launch;
using Jex.Member.Transports;
using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Member.Tests.Driver;

/// <summary>
/// An in-memory runtime for driver unit tests: echoes each item's key with "!" appended as the
/// output value, after a random delay per batch (so results come back out of order), and can be
/// told to die after receiving a number of batches. The real runtime is exercised in
/// Jex.FunctionalTests/Member.
/// </summary>
internal sealed class FakeRuntime : IRuntimeLauncher, ISessionConnector
{
    private readonly Func<int, int?> _dieAfterBatches;
    private readonly int _maxDelayMs;
    private FakeInstance? _current;

    /// <param name="dieAfterBatches">For the n-th start (1-based): die after receiving this many batches, or null to live.</param>
    /// <param name="maxDelayMs">Longest random delay before a batch result.</param>
    public FakeRuntime(Func<int, int?> dieAfterBatches, int maxDelayMs = 3)
    {
        _dieAfterBatches = dieAfterBatches;
        _maxDelayMs = maxDelayMs;
    }

    /// <summary>A finished journal of <paramref name="count"/> items, keys key-0, key-1, ... in sequence order.</summary>
    public static ChannelReader<Item> Source(int count)
    {
        var channel = Channel.CreateUnbounded<Item>();
        for (var i = 0; i < count; i++)
        {
            channel.Writer.TryWrite(new Item { Key = ByteString.CopyFromUtf8($"key-{i}"), Sequence = i });
        }

        channel.Writer.Complete();
        return channel.Reader;
    }

    public int Starts { get; private set; }

    /// <summary>The instance of the latest start.</summary>
    public FakeInstance? Current => _current;

    public Func<int, Exception?> StartFailure { get; init; } = _ => null;

    public Func<Init, Exception?> InitFailure { get; init; } = _ => null;

    /// <summary>
    /// For the n-th start: after receiving this many batches, stop on its own as a SIGTERMed runtime
    /// does (finish what it accepted, send an unasked Drained, end the stream, exit); null to never.
    /// </summary>
    public Func<int, int?> StopOnItsOwnAfter { get; init; } = _ => null;

    /// <summary>
    /// For the n-th start: after this many batches, the runtime dies silently and every later send
    /// blocks its thread until cancelled, as a shared-memory send into a full ring does.
    /// </summary>
    public Func<int, int?> DieWithBlockingSendsAfter { get; init; } = _ => null;

    /// <summary>When stopping on its own, end the stream without sending Drained (a runtime whose stream just ends).</summary>
    public bool StopWithoutDrained { get; init; }

    /// <summary>A stopping runtime answers each later batch with BATCH_AFTER_DRAIN (else it ignores it).</summary>
    public bool RefuseWhileStopping { get; init; }

    public string Transport => "fake";

    /// <summary>Every batch received, on any session, as sent.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<Batch> Batches { get; } = new();

    /// <summary>The result of one item; null for the echo.</summary>
    public Func<Item, ItemResult?> Answer { get; init; } = _ => null;

    /// <summary>Before each result, forward one user log record naming the batch, as the runtime does for user code's ILogger.</summary>
    public bool LogEachBatch { get; init; }

    /// <summary>The trace and span ids the forwarded log record carries, as a traced runtime sets them; null for none.</summary>
    public Func<Batch, (string TraceId, string SpanId)?> LogTrace { get; init; } = _ => null;

    /// <summary>The kinds of the member's messages, one list per session (connection), in the order they were sent.</summary>
    public List<System.Collections.Concurrent.ConcurrentQueue<MemberMessage.KindOneofCase>> Sessions { get; } = [];

    public Task<IRuntimeInstance> StartAsync(RuntimeLaunchOptions options, CancellationToken cancellationToken)
    {
        Starts++;
        if (StartFailure(Starts) is { } failure)
        {
            throw failure;
        }

        _current = new FakeInstance(Starts, _dieAfterBatches(Starts)) { StopAfter = StopOnItsOwnAfter(Starts), StopWithoutDrained = StopWithoutDrained, RefuseWhileStopping = RefuseWhileStopping, BlockAfter = DieWithBlockingSendsAfter(Starts) };
        return Task.FromResult<IRuntimeInstance>(_current);
    }

    public ValueTask<ISessionChannel> ConnectAsync(RuntimeReadyInfo ready, CancellationToken cancellationToken)
    {
        var received = new System.Collections.Concurrent.ConcurrentQueue<MemberMessage.KindOneofCase>();
        lock (Sessions)
        {
            Sessions.Add(received);
        }

        return ValueTask.FromResult<ISessionChannel>(new FakeChannel(this, _current!, _maxDelayMs, InitFailure, received));
    }

    internal sealed class FakeInstance(int n, int? dieAfter) : IRuntimeInstance
    {
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RuntimeReadyInfo Ready { get; } = new("fake", $"fake://{n}", 1000 + n, "test", []);

        public int? DieAfter { get; } = dieAfter;

        public int? StopAfter { get; init; }

        public int? BlockAfter { get; init; }

        public bool StopWithoutDrained { get; init; }

        /// <summary>Answers a batch sent while stopping with BATCH_AFTER_DRAIN, as jex-runtime does.</summary>
        public bool RefuseWhileStopping { get; init; }

        /// <summary>Batches that got a result from this instance.</summary>
        public int Answered;

        private int? _exitCode;
        private IReadOnlyList<string> _output = [];

        public string Name => $"fake runtime {n}";

        public Task Exited => _exited.Task;

        public int? ExitCode => _exited.Task.IsCompleted ? _exitCode : null;

        public IReadOnlyList<string> RecentOutput => _output;

        public string OutputSummary => string.Join(" | ", _output);

        public void Die() => _exited.TrySetResult();

        /// <summary>Exits as a process does: with a code, having written <paramref name="output"/>.</summary>
        public void ExitWith(int code, params string[] output)
        {
            _output = output;
            _exitCode = code;
            Die();
        }

        public Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
        {
            Die();
            return Task.CompletedTask;
        }

        public void Kill() => Die();

        public ValueTask DisposeAsync()
        {
            Die();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FakeChannel(FakeRuntime runtime, FakeInstance instance, int maxDelayMs, Func<Init, Exception?> initFailure, System.Collections.Concurrent.ConcurrentQueue<MemberMessage.KindOneofCase> received) : ISessionChannel
    {
        private readonly Channel<RuntimeMessage> _out = Channel.CreateUnbounded<RuntimeMessage>();
        private int _received;
        private int _pending;
        private bool _draining;
        private bool _stopping;

        public ValueTask SendAsync(MemberMessage message, CancellationToken cancellationToken)
        {
            if (message.KindCase == MemberMessage.KindOneofCase.Batch && instance.BlockAfter is { } blockAfter && _received >= blockAfter)
            {
                instance.Die();
                // Blocks the calling thread, like RingProducer.Write waiting for space nobody frees.
                cancellationToken.WaitHandle.WaitOne();
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (instance.Exited.IsCompleted)
            {
                throw new SessionEndedException(StatusCode.Unavailable, "Unavailable: fake runtime is dead");
            }

            received.Enqueue(message.KindCase);

            switch (message.KindCase)
            {
                case MemberMessage.KindOneofCase.Init:
                    if (initFailure(message.Init) is { } failure)
                    {
                        _out.Writer.TryComplete(failure);
                        break;
                    }

                    _out.Writer.TryWrite(new RuntimeMessage { Ready = new Ready { Pid = instance.Ready.Pid, Signature = new FunctionSignature { Name = message.Init.Function } } });
                    break;
                case MemberMessage.KindOneofCase.Batch:
                    if (Volatile.Read(ref _stopping))
                    {
                        // A stopping runtime accepts nothing more; the member must replay it elsewhere.
                        if (instance.RefuseWhileStopping)
                        {
                            _out.Writer.TryWrite(new RuntimeMessage
                            {
                                Error = new ProtocolError { Code = ProtocolError.Types.Code.BatchAfterDrain, BatchId = message.Batch.Id, Message = "arrived after Drain" },
                            });
                        }

                        break;
                    }

                    if (++_received == instance.DieAfter)
                    {
                        instance.Die();
                        _out.Writer.TryComplete(new SessionEndedException(StatusCode.Unavailable, "Unavailable: fake runtime crashed"));
                        break;
                    }

                    Interlocked.Increment(ref _pending);
                    var batch = message.Batch;
                    runtime.Batches.Enqueue(batch);
                    _ = Task.Run(async () =>
                    {
                        await Task.Delay(Random.Shared.Next(maxDelayMs + 1), CancellationToken.None);
                        var result = new BatchResult { BatchId = batch.Id };
                        foreach (var item in batch.Items)
                        {
                            if (runtime.Answer(item) is { } answer)
                            {
                                result.Results.Add(answer);
                                continue;
                            }

                            var outputs = new Outputs();
                            outputs.Outputs_.Add(new Output { Key = item.Key, Value = ByteString.CopyFromUtf8(item.Key.ToStringUtf8() + "!") });
                            result.Results.Add(new ItemResult { Ok = outputs });
                        }

                        if (!instance.Exited.IsCompleted)
                        {
                            if (runtime.LogEachBatch)
                            {
                                var log = new Protocol.V1.Log { Level = LogLevel.Information, Category = "UserCode.Echo", Message = $"echoing batch {batch.Id}", BatchId = batch.Id };
                                if (runtime.LogTrace(batch) is { } trace)
                                {
                                    (log.TraceId, log.SpanId) = trace;
                                }

                                _out.Writer.TryWrite(new RuntimeMessage { Log = log });
                            }

                            _out.Writer.TryWrite(new RuntimeMessage { Result = result });
                            Interlocked.Increment(ref instance.Answered);
                        }

                        if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _draining))
                        {
                            Drained();
                        }
                    }, CancellationToken.None);
                    if (_received == instance.StopAfter)
                    {
                        Volatile.Write(ref _stopping, true);
                        Volatile.Write(ref _draining, true);
                    }

                    break;
                case MemberMessage.KindOneofCase.Drain:
                    Volatile.Write(ref _draining, true);
                    if (Volatile.Read(ref _pending) == 0)
                    {
                        Drained();
                    }

                    break;
            }

            return ValueTask.CompletedTask;
        }

        public async ValueTask<RuntimeMessage?> ReadAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await _out.Reader.ReadAsync(cancellationToken);
            }
            catch (ChannelClosedException ex) when (ex.InnerException is null)
            {
                return null;
            }
            catch (ChannelClosedException ex)
            {
                throw ex.InnerException!;
            }
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private void Drained()
        {
            if (!(Volatile.Read(ref _stopping) && instance.StopWithoutDrained))
            {
                _out.Writer.TryWrite(new RuntimeMessage { Drained = new Drained() });
            }

            _out.Writer.TryComplete();
            if (Volatile.Read(ref _stopping))
            {
                instance.Die();
            }
        }
    }
}

internal sealed class CollectingSink : IResultSink
{
    public List<long> Sequences { get; } = [];

    public List<(string Key, string Value)> Puts { get; } = [];

    public ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken)
    {
        Sequences.Add(batch.Sequence);
        foreach (var r in result.Results.Where(r => r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok))
        {
            foreach (var o in r.Ok.Outputs_)
            {
                Puts.Add((o.Key.ToStringUtf8(), o.Value.ToStringUtf8()));
            }
        }

        return ValueTask.CompletedTask;
    }
}

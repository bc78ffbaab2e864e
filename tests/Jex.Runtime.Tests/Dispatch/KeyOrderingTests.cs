using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch.Wire;
using Jex.Runtime.UserCode;
using Jex.UserCode;

namespace Jex.Runtime.Tests.Dispatch;

/// <summary>
/// ORDERING_KEY sessions against a real <see cref="Runtime.Dispatch.SessionProcessor"/>: items with
/// equal keys never overlap and keep arrival order, other items run at once, results stay in place.
/// </summary>
public sealed class KeyOrderingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Functions that record every call: who ran when, and what overlapped.</summary>
    public static class Functions
    {
        public static readonly Recorder Calls = new();

        /// <summary>Held calls wait for the test to release them, so "still running" does not depend on how long a delay lasts.</summary>
        public static readonly Gate Held = new();

        /// <summary>Calls of <see cref="Gathered"/> wait until the expected number of them run at once.</summary>
        public static readonly Gathering Together = new();

        /// <summary>Value "id|delayMs" or "id|hold": records its start and end; delay 0 returns synchronously, hold waits for <see cref="Held"/>.</summary>
        public static ValueTask<string> Recorded(string value, IJexContext context)
        {
            var bar = value.IndexOf('|', StringComparison.Ordinal);
            var id = int.Parse(value.AsSpan(0, bar), System.Globalization.CultureInfo.InvariantCulture);
            var hold = value.AsSpan(bar + 1).SequenceEqual("hold");
            var delay = hold ? -1 : int.Parse(value.AsSpan(bar + 1), System.Globalization.CultureInfo.InvariantCulture);
            var key = Encoding.UTF8.GetString(context.RawKey.Span);
            var generation = Calls.Enter(key, id);
            if (delay == 0)
            {
                Calls.Exit(key, generation);
                return ValueTask.FromResult(value);
            }

            return DelayedAsync(value, key, hold ? Held.WaitAsync() : Task.Delay(delay), generation);
        }

        private static async ValueTask<string> DelayedAsync(string value, string key, Task delay, int generation)
        {
            await delay;
            Calls.Exit(key, generation);
            return value;
        }

        /// <summary>Returns only once every expected call has arrived: a batch that runs its items one at a time never completes.</summary>
        public static async Task<string> Gathered(string value)
        {
            await Together.ArriveAsync();
            return value;
        }

        public static async Task<string> WaitForCancel(string value, CancellationToken ct)
        {
            await Task.Delay(System.Threading.Timeout.Infinite, ct);
            return value;
        }

        public static async Task<string> Sleep50(string value)
        {
            await Task.Delay(50);
            return value;
        }

        public static string Fails(string value) => value == "bad" ? throw new InvalidOperationException("bad item") : value;
    }

    public sealed class Recorder
    {
        private readonly object _gate = new();
        private readonly HashSet<string> _runningKeys = [];
        private readonly Dictionary<string, List<int>> _started = [];
        private int _generation;

        public int Running { get; private set; }

        public int MaxRunning { get; private set; }

        public int Overlaps { get; private set; }

        public void Reset()
        {
            lock (_gate)
            {
                _runningKeys.Clear();
                _started.Clear();
                Running = MaxRunning = Overlaps = 0;
                _generation++;
            }
        }

        /// <summary>Records a start; returns the generation, so a call abandoned by an earlier test does not count in this one.</summary>
        public int Enter(string key, int id)
        {
            lock (_gate)
            {
                if (!_runningKeys.Add(key))
                {
                    Overlaps++;
                }

                if (!_started.TryGetValue(key, out var ids))
                {
                    _started[key] = ids = [];
                }

                ids.Add(id);
                MaxRunning = Math.Max(MaxRunning, ++Running);
                return _generation;
            }
        }

        public void Exit(string key, int generation)
        {
            lock (_gate)
            {
                if (generation != _generation)
                {
                    return;
                }

                _runningKeys.Remove(key);
                Running--;
            }
        }

        public List<int> StartedFor(string key)
        {
            lock (_gate)
            {
                return _started.TryGetValue(key, out var ids) ? [.. ids] : [];
            }
        }
    }

    /// <summary>A latch the test opens; a new one per test.</summary>
    public sealed class Gate
    {
        private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Reset() => _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task WaitAsync() => _open.Task.WaitAsync(Timeout);

        public void Open() => _open.TrySetResult();
    }

    /// <summary>Lets its callers go once <c>expected</c> of them have arrived, so together they prove that many ran at once.</summary>
    public sealed class Gathering
    {
        private readonly object _gate = new();
        private TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _expected;
        private int _arrived;

        public void Expect(int expected)
        {
            lock (_gate)
            {
                _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _expected = expected;
                _arrived = 0;
            }
        }

        public Task ArriveAsync()
        {
            lock (_gate)
            {
                if (++_arrived >= _expected)
                {
                    _all.TrySetResult();
                }

                return _all.Task.WaitAsync(Timeout);
            }
        }
    }

    private static SessionHarness NewHarness() => new(typeof(Functions), PayloadCodecs.CreateDefault(),
        nameof(Functions.Recorded), nameof(Functions.WaitForCancel), nameof(Functions.Sleep50), nameof(Functions.Fails), nameof(Functions.Gathered));

    private static Init KeyInit(string function, uint maxConcurrency, uint maxInFlight = 0)
    {
        var init = SessionHarness.InitFor(function, Format.Text);
        init.Ordering = Ordering.Key;
        init.MaxConcurrency = maxConcurrency;
        init.MaxInFlight = maxInFlight;
        return init;
    }

    private static Batch BatchOf(ulong id, IEnumerable<(string Key, string Value)> items, uint deadlineMs = 0)
    {
        var batch = new Batch { Id = id, DeadlineMs = deadlineMs };
        foreach (var (key, value) in items)
        {
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) });
        }

        return batch;
    }

    private static async Task<Dictionary<ulong, BatchResult>> ReadResultsAsync(SessionHarness session, int count)
    {
        var results = new Dictionary<ulong, BatchResult>();
        while (results.Count < count)
        {
            var message = await session.ReadAsync();
            Assert.NotEqual(RuntimeMessage.KindOneofCase.Error, message.KindCase);
            if (message.KindCase == RuntimeMessage.KindOneofCase.Result)
            {
                Assert.True(results.TryAdd(message.Result.BatchId, message.Result), $"a second result for batch {message.Result.BatchId}");
            }
        }

        return results;
    }

    [Fact]
    public async Task Ready_ForKeyOrdering_EchoesTheNegotiatedConcurrency()
    {
        await using var asked8 = NewHarness();
        var ready = await asked8.InitAsync(KeyInit(nameof(Functions.Sleep50), 8));
        Assert.Equal(8u, ready.Limits.MaxConcurrency);
        Assert.Contains("ordering-key", ready.Capabilities);

        await using var askedNothing = NewHarness();
        Assert.Equal(64u, (await askedNothing.InitAsync(KeyInit(nameof(Functions.Sleep50), 0))).Limits.MaxConcurrency);

        await using var askedTooMuch = NewHarness();
        Assert.Equal(64u, (await askedTooMuch.InitAsync(KeyInit(nameof(Functions.Sleep50), 100_000))).Limits.MaxConcurrency);

        await using var batchOrder = NewHarness();
        var batchReady = await batchOrder.InitAsync(SessionHarness.InitFor(nameof(Functions.Sleep50), Format.Text));
        Assert.Equal(0u, batchReady.Limits.MaxConcurrency);
        Assert.DoesNotContain("ordering-key", batchReady.Capabilities);
    }

    [Fact]
    public async Task Init_WithAnUnknownOrdering_IsRefusedNamingTheField()
    {
        await using var session = NewHarness();
        var init = KeyInit(nameof(Functions.Sleep50), 0);
        init.Ordering = (Ordering)7;
        await session.SendAsync(new MemberMessage { Init = init });
        var refusal = await Assert.ThrowsAsync<Runtime.Dispatch.SessionRejectedException>(() => session.Session.WaitAsync(Timeout));
        Assert.Contains("Init.ordering 7", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyOrdering_ItemsWithDistinctKeys_OverlapAndKeepTheirPositions()
    {
        await using var session = NewHarness();
        await session.InitAsync(KeyInit(nameof(Functions.Gathered), 64));
        // Each call returns only when all 64 run at once (not after a time that a slow machine could stretch).
        Functions.Together.Expect(64);
        var items = Enumerable.Range(0, 64).Select(i => ($"k{i}", $"v{i}")).ToList();
        await session.SendAsync(new MemberMessage { Batch = BatchOf(2, items) });
        var result = (await ReadResultsAsync(session, 1))[2];

        Assert.Equal(items.Select(i => i.Item2), result.Results.Select(r => r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok ? r.Ok.Outputs_.Single().Value.ToStringUtf8() : r.Error.Message));
    }

    [Fact]
    public async Task KeyOrdering_ItemsWithOneKey_RunOneAfterAnother()
    {
        await using var session = NewHarness();
        await session.InitAsync(KeyInit(nameof(Functions.Sleep50), 64));
        var clock = Stopwatch.StartNew();
        await session.SendAsync(new MemberMessage { Batch = BatchOf(1, Enumerable.Range(0, 6).Select(i => ("same", $"v{i}"))) });
        var result = (await ReadResultsAsync(session, 1))[1];

        Assert.Equal(6, result.Results.Count);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(6 * 50 - 10), $"took {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task KeyOrdering_WhenAnItemThrows_FailsThatItemOnlyInItsPosition()
    {
        await using var session = NewHarness();
        await session.InitAsync(KeyInit(nameof(Functions.Fails), 4));
        await session.SendAsync(new MemberMessage { Batch = BatchOf(1, [("a", "x"), ("b", "bad"), ("a", "y")]) });
        var result = (await ReadResultsAsync(session, 1))[1];

        Assert.Equal("x", result.Results[0].Ok.Outputs_.Single().Value.ToStringUtf8());
        Assert.Equal(ItemError.Types.Code.UserException, result.Results[1].Error.Code);
        Assert.Equal("bad item", result.Results[1].Error.Message);
        Assert.Equal("y", result.Results[2].Ok.Outputs_.Single().Value.ToStringUtf8());
    }

    [Fact]
    public async Task KeyOrdering_Cancel_StopsTheBatchWithCancelledItemsInPlace()
    {
        await using var session = NewHarness();
        await session.InitAsync(KeyInit(nameof(Functions.WaitForCancel), 2));
        // Two keys run (and wait), the other three items wait behind them.
        await session.SendAsync(new MemberMessage { Batch = BatchOf(1, [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("b", "5")]) });
        await Task.Delay(100);
        await session.SendAsync(new MemberMessage { Cancel = new Cancel { BatchId = 1 } });
        var result = (await ReadResultsAsync(session, 1))[1];

        Assert.Equal(5, result.Results.Count);
        Assert.All(result.Results, r => Assert.Equal(ItemError.Types.Code.Cancelled, r.Error.Code));
        Assert.Contains("cancelled by the member", result.Results[2].Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyOrdering_Deadline_AnswersOnTimeAndLaterBatchesOfTheKeyStillRun()
    {
        await using var session = NewHarness();
        await session.InitAsync(KeyInit(nameof(Functions.Recorded), 8));
        Functions.Calls.Reset();
        Functions.Held.Reset();
        try
        {
            // Batch 1's first item runs until the test lets it go; its deadline is 200 ms. Batch 2 has the same key.
            await session.SendAsync(new MemberMessage { Batch = BatchOf(1, [("k", "1|hold"), ("k", "2|0"), ("j", "3|0")], deadlineMs: 200) });
            await session.SendAsync(new MemberMessage { Batch = BatchOf(2, [("k", "4|0")]) });
            var results = await ReadResultsAsync(session, 2);

            var first = results[1].Results;
            Assert.Equal(ItemError.Types.Code.DeadlineExceeded, first[0].Error.Code);
            Assert.Equal(ItemError.Types.Code.DeadlineExceeded, first[1].Error.Code);
            Assert.Equal("3|0", first[2].Ok.Outputs_.Single().Value.ToStringUtf8());
            Assert.Equal("4|0", results[2].Results.Single().Ok.Outputs_.Single().Value.ToStringUtf8());
            // Both answers came while item 1 was still held: the deadline answered, not the item's end.
            Assert.Equal(1, Functions.Calls.Running);
            // Item 2 never ran: its batch had stopped when its turn came.
            Assert.Equal([1, 4], Functions.Calls.StartedFor("k"));
        }
        finally
        {
            Functions.Held.Open();
        }
    }

    /// <summary>
    /// Random keys and per-item delays over several batches in flight: same-key items never
    /// overlap and start in arrival order, every item has exactly one result in its position, and
    /// no more than max_concurrency items run at once.
    /// </summary>
    [Property(MaxTest = 25)]
    public bool KeyOrdering_UnderRandomDelays_KeepsKeyOrderAndEveryResultInPlace((byte Key, byte Delay)[][] batches, PositiveInt concurrency)
    {
        return RunAsync().GetAwaiter().GetResult();

        async Task<bool> RunAsync()
        {
            var max = 1 + (concurrency.Get % 8);
            var plan = batches.Take(6).Select(b => b.Take(24).ToArray()).ToArray();
            await using var session = NewHarness();
            await session.InitAsync(KeyInit(nameof(Functions.Recorded), (uint)max, maxInFlight: 8));
            Functions.Calls.Reset();
            var expectedOrder = new Dictionary<string, List<int>>();
            var id = 0;
            for (var b = 0; b < plan.Length; b++)
            {
                var items = new List<(string, string)>();
                foreach (var (rawKey, rawDelay) in plan[b])
                {
                    var key = $"key{rawKey % 5}";
                    var value = $"{id}|{rawDelay % 4}";
                    items.Add((key, value));
                    if (!expectedOrder.TryGetValue(key, out var order))
                    {
                        expectedOrder[key] = order = [];
                    }

                    order.Add(id++);
                }

                await session.SendAsync(new MemberMessage { Batch = BatchOf((ulong)b + 1, items) });
            }

            var results = await ReadResultsAsync(session, plan.Length);
            for (var b = 0; b < plan.Length; b++)
            {
                var expected = plan[b];
                var got = results[(ulong)b + 1].Results;
                if (got.Count != expected.Length || got.Any(r => r.OutcomeCase != ItemResult.OutcomeOneofCase.Ok))
                {
                    return false;
                }
            }

            var values = results.OrderBy(r => r.Key).SelectMany(r => r.Value.Results).Select(r => r.Ok.Outputs_.Single().Value.ToStringUtf8());
            var ids = values.Select(v => int.Parse(v.AsSpan(0, v.IndexOf('|', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture));
            return ids.SequenceEqual(Enumerable.Range(0, id))
                && Functions.Calls.Overlaps == 0
                && Functions.Calls.MaxRunning <= max
                && expectedOrder.All(k => Functions.Calls.StartedFor(k.Key).SequenceEqual(k.Value));
        }
    }

    [Fact]
    public void Init_WithOrderingFields_ReadsFromHandWrittenBytes()
    {
        // MemberMessage { init (1): Init { ordering (14) = ORDERING_KEY, max_concurrency (15) = 64 } }:
        // tag 14 varint is 0x70, tag 15 varint is 0x78.
        byte[] bytes = [0x0A, 0x04, 0x70, 0x02, 0x78, 0x40];
        var buffer = MemberMessageBuffer.Copy(bytes);
        buffer.Parse();

        Assert.False(buffer.IsBatch);
        Assert.Equal(Ordering.Key, buffer.Message!.Init.Ordering);
        Assert.Equal(64u, buffer.Message.Init.MaxConcurrency);
        Assert.Equal(bytes, new MemberMessage { Init = new Init { Ordering = Ordering.Key, MaxConcurrency = 64 } }.ToByteArray());
        buffer.Release();
    }
}

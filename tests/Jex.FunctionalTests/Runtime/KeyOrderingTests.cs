using System.Diagnostics;
using Google.Protobuf;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>
/// ORDERING_KEY against a real jex-runtime, once per transport: a batch's items with distinct keys
/// overlap (the batch takes far less than the sum of its items' times) and every result is in its
/// item's position.
/// </summary>
public sealed class KeyOrderingTests(ITestOutputHelper output) : IDisposable
{
    private const int Items = 128;

    private readonly string _scratch = Paths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static Init KeyInit(uint maxConcurrency)
    {
        var init = TestSession.InitFor("async5ms");
        init.KeyFormat = Format.Bytes;
        init.ValueFormat = Format.Bytes;
        init.Ordering = Ordering.Key;
        init.MaxConcurrency = maxConcurrency;
        return init;
    }

    private static Batch BatchOf(ulong id, Func<int, string> key, int count)
    {
        var batch = new Batch { Id = id };
        for (var i = 0; i < count; i++)
        {
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8(key(i)), Value = ByteString.CopyFromUtf8($"value-{id}-{i}") });
        }

        return batch;
    }

    private static void AssertInPlace(Batch batch, BatchResult result)
    {
        Assert.Equal(batch.Items.Count, result.Results.Count);
        for (var i = 0; i < batch.Items.Count; i++)
        {
            Assert.Equal(batch.Items[i].Value, Assert.Single(result.Results[i].Ok.Outputs_).Value);
        }
    }

    [Theory]
    [MemberData(nameof(Transports.All), MemberType = typeof(Transports))]
    public async Task Transform_KeyOrderedAsyncItemsWithDistinctKeys_OverlapAndReturnInPosition(TransportKind kind)
    {
        await using var runtime = await Transports.StartRuntimeAsync(kind, _scratch);
        try
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            var ready = await session.OpenAsync(KeyInit(64));
            Assert.Equal(64u, ready.Limits.MaxConcurrency);
            Assert.Contains("ordering-key", ready.Capabilities);

            var warm = BatchOf(1, i => "w" + i, 8);
            AssertInPlace(warm, (await session.RunAsync([warm], 1))[1]);
            var distinct = BatchOf(2, i => "k" + i, Items);
            AssertInPlace(distinct, (await session.RunAsync([distinct], 1))[2]);

            await AssertDistinctKeysOverlapAsync(kind, runtime);

            // Four keys over two batches in flight: results still in place.
            var first = BatchOf(3, i => "r" + (i % 4), 64);
            var second = BatchOf(4, i => "r" + (i % 4), 64);
            var both = await session.RunAsync([first, second], 2);
            AssertInPlace(first, both[3]);
            AssertInPlace(second, both[4]);

            var drained = await session.DrainAsync();
            Assert.Equal(4UL, drained.Batches);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    /// <summary>
    /// 64 items with distinct keys, each sleeping about a second: one after another they take over a
    /// minute, at once about a second. Items this long keep the verdict clear of how fast or busy the
    /// machine is (5 ms items against a bound of a few hundred ms were not).
    /// </summary>
    private async Task AssertDistinctKeysOverlapAsync(TransportKind kind, RuntimeProcess runtime)
    {
        await using var session = new TestSession(Transports.Open(kind, runtime));
        var init = TestSession.InitFor("sleepy");
        init.Ordering = Ordering.Key;
        init.MaxConcurrency = 64;
        await session.OpenAsync(init);
        var batch = new Batch { Id = 1 };
        for (var i = 0; i < 64; i++)
        {
            batch.Items.Add(new Item { Key = ByteString.CopyFromUtf8("s" + i), Value = ByteString.CopyFromUtf8($"sleep:{1000 + i}") });
        }

        var clock = Stopwatch.StartNew();
        var result = (await session.RunAsync([batch], 1))[1];
        clock.Stop();

        AssertInPlace(batch, result);
        output.WriteLine($"64 items of about 1 s with distinct keys took {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"64 items of about 1 s with distinct keys took {clock.ElapsedMilliseconds} ms: they did not run at once");
    }
}

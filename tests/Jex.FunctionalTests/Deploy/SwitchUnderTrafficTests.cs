using System.Collections.Concurrent;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Deploy;

/// <summary>
/// Two sessions on different functions, each with several batches in flight, while a new version
/// is activated: every batch gets exactly one result, each result says which version ran it and its
/// outputs are that version's, and per session the versions follow the batch order with one switch,
/// every batch of the old version answered before the first of the new one.
/// </summary>
public sealed class SwitchUnderTrafficTests(LiveCodeVersions versions) : IClassFixture<LiveCodeVersions>
{
    private const int AfterSwitch = 200;
    private const int Items = 5;
    private const int InFlight = 4;

    [Fact]
    public async Task TwoSessionsOnDifferentFunctions_SwitchTogether_WithNoBatchLostAndOrderKept()
    {
        await using var runtime = await RuntimeProcess.StartAsync(
            ["--UserCode:Grpc:Port=0", "--UserCode:Deploy:Enabled=true"], userCodePath: versions.V1);
        await using var tag = new Driven(runtime, "tag");
        await using var echo = new Driven(runtime, "echo");
        var running = Task.WhenAll(tag.RunAsync(), echo.RunAsync());

        var until = DateTime.UtcNow + TestSession.Timeout;
        while ((tag.Arrived.Count < 50 || echo.Arrived.Count < 50) && DateTime.UtcNow < until && !running.IsCompleted)
        {
            await Task.Delay(5);
        }

        using var deploy = new DeployClient(runtime.Address);
        var activated = await deploy.DeployAsync(versions.V2);
        Assert.Equal(2u, activated.Sessions);
        tag.StopAfter(AfterSwitch);
        echo.StopAfter(AfterSwitch);
        await running.WaitAsync(TestSession.Timeout);

        tag.AssertSwitchedOnce("-v1", "-v2", activated.Version);
        echo.AssertSwitchedOnce("-v1/echo", "-v2/echo", activated.Version);
    }

    private sealed class Driven(RuntimeProcess runtime, string function) : IAsyncDisposable
    {
        private readonly TestSession _session = new(GrpcTestChannel.Open(runtime.Address));
        private long _sent;
        private long _last = long.MaxValue;

        /// <summary>Sends <paramref name="more"/> batches after those sent so far, then stops.</summary>
        public void StopAfter(int more) => Volatile.Write(ref _last, Volatile.Read(ref _sent) + more);

        /// <summary>Results in the order they arrived.</summary>
        public ConcurrentQueue<BatchResult> Arrived { get; } = new();

        public async Task RunAsync()
        {
            var init = TestSession.InitFor(function);
            init.MaxInFlight = InFlight;
            await _session.OpenAsync(init);
            using var gate = new SemaphoreSlim(InFlight, InFlight);
            var sender = Task.Run(async () =>
            {
                for (var id = 1UL; (long)id <= Volatile.Read(ref _last); id++)
                {
                    await gate.WaitAsync(TestSession.Timeout);
                    var values = Enumerable.Range(0, Items).Select(i => $"{function}:{id}:{i}");
                    await _session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(id, values) });
                    Volatile.Write(ref _sent, (long)id);
                }
            });
            // Until StopAfter, _last is unbounded; then the batches are exactly 1.._last.
            while (Arrived.Count < Volatile.Read(ref _last))
            {
                var message = await _session.ReadAsync() ?? throw new InvalidOperationException($"{function}: stream ended after {Arrived.Count} results");
                if (message.Result is { } result)
                {
                    Arrived.Enqueue(result);
                    gate.Release();
                }
                else if (message.Error is { } error)
                {
                    throw new InvalidOperationException($"{function}: protocol error {error.Code}: {error.Message}");
                }
            }

            await sender.WaitAsync(TestSession.Timeout);
        }

        public void AssertSwitchedOnce(string oldSuffix, string newSuffix, string newVersion)
        {
            var arrived = Arrived.ToList();
            Assert.Equal(Enumerable.Range(1, (int)Volatile.Read(ref _sent)).Select(i => (ulong)i), arrived.Select(r => r.BatchId).Order());
            foreach (var result in arrived)
            {
                var suffix = result.CodeVersion == "v0" ? oldSuffix : result.CodeVersion == newVersion ? newSuffix : throw new InvalidOperationException($"batch {result.BatchId} ran on '{result.CodeVersion}'");
                Assert.Equal(
                    Enumerable.Range(0, Items).Select(i => $"{function}:{result.BatchId}:{i}{suffix}"),
                    result.Results.Select(r => Assert.Single(r.Ok.Outputs_).Value.ToStringUtf8()));
            }

            var byId = arrived.OrderBy(r => r.BatchId).Select(r => r.CodeVersion).ToList();
            var firstNew = byId.IndexOf(newVersion);
            Assert.True(firstNew > 0, $"{function}: expected batches on both versions, got {string.Join(",", byId.Distinct())}");
            Assert.All(byId[..firstNew], v => Assert.Equal("v0", v));
            Assert.All(byId[firstNew..], v => Assert.Equal(newVersion, v));

            // Old-version batches all finished before the session's first new-version batch started.
            var byArrival = arrived.Select(r => r.CodeVersion).ToList();
            Assert.Equal(firstNew, byArrival.IndexOf(newVersion));
        }

        public ValueTask DisposeAsync() => _session.DisposeAsync();
    }
}

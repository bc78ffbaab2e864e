using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;
using Jex.Transport.SharedMemory;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>
/// A SIGTERM drain over gRPC when the member is slow to read. Kestrel closes the connection as soon
/// as the last call on it ends during a graceful stop, and the member's HTTP/2 client then throws
/// away whatever it had buffered but not yet handed to the reader while the member's own side of
/// the call is still open. The runtime therefore keeps a drained call open until the member ends
/// its side (or cancels, or the drain timeout passes).
/// </summary>
public sealed class GrpcDrainTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _scratch = Paths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    public static TheoryData<TransportKind> Grpc => [TransportKind.GrpcTcp, TransportKind.GrpcUnixSocket];

    [Theory]
    [MemberData(nameof(Grpc))]
    public async Task Sigterm_WhenTheMemberReadsOnlyAfterTheSessionEnded_ItStillGetsEveryResultAndDrained(TransportKind kind)
    {
        var runtime = await Transports.StartRuntimeAsync(kind, _scratch, "--UserCode:DrainTimeoutSeconds=120");
        await using var _ = runtime;
        try
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("sleepy"));
            for (ulong b = 1; b <= 3; b++)
            {
                await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(b, ["sleep:200", "done-" + b]) });
            }

            // The Pong proves the batches were read before the signal (messages are handled in order).
            await session.SendAsync(new MemberMessage { Ping = new Ping { Nonce = 5 } });
            var results = new List<BatchResult>();
            while (await session.ReadAsync(TimeSpan.FromSeconds(30)) is { } early && early.Pong is null)
            {
                if (early.Result is { } r)
                {
                    results.Add(r);
                }
            }

            runtime.Signal(LibC.SigTerm);

            // The member reads nothing until the runtime's session has ended and Kestrel has had
            // every chance to close the connection: the runtime exiting, or 3 s, whichever is first.
            var ended = await WaitForLogAsync(runtime, "ended:", TimeSpan.FromSeconds(60));
            Assert.True(ended, "the session did not end within 60 s of SIGTERM");
            using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
            {
                while (!runtime.HasExited && !grace.IsCancellationRequested)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }

            Drained? drained = null;
            while (drained is null && await session.ReadAsync(TimeSpan.FromSeconds(30)) is { } m)
            {
                if (m.Result is { } r)
                {
                    results.Add(r);
                }
                else if (m.Drained is { } d)
                {
                    drained = d;
                }
            }

            Assert.Equal([1UL, 2UL, 3UL], results.Select(r => r.BatchId).Order());
            Assert.All(results, r => Assert.All(r.Results, i => Assert.Equal(ItemResult.OutcomeOneofCase.Ok, i.OutcomeCase)));
            Assert.NotNull(drained);
            Assert.Equal(3UL, drained.Batches);

            // The member ends its side; then the call ends with OK and the runtime exits 0.
            await session.CompleteAsync();
            Assert.Null(await session.ReadAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Grpc))]
    public async Task Sigterm_WhenTheMemberNeverEndsItsSide_TheRuntimeStillExitsZeroAtTheDrainTimeout(TransportKind kind)
    {
        var runtime = await Transports.StartRuntimeAsync(kind, _scratch, "--UserCode:DrainTimeoutSeconds=2");
        await using var _ = runtime;
        try
        {
            await using var session = new TestSession(Transports.Open(kind, runtime));
            await session.OpenAsync(TestSession.InitFor("identity"));
            await session.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["a"]) });
            Assert.NotNull(await session.ReadUntilAsync(m => m.Result is not null, TimeSpan.FromSeconds(30)));

            runtime.Signal(LibC.SigTerm);

            // Drained arrives; the member then neither half-closes nor cancels. The drain timeout
            // bounds the wait: the runtime aborts the call, exits 0 and removes its socket.
            Assert.NotNull(await session.ReadUntilAsync(m => m.Drained is not null, TimeSpan.FromSeconds(30)));
            Assert.Equal(0, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            if (Transports.EndpointFile(kind, runtime) is { } socket)
            {
                Assert.False(File.Exists(socket), $"{socket} left behind");
            }
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    private static async Task<bool> WaitForLogAsync(RuntimeProcess runtime, string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!runtime.Log.Contains(text, StringComparison.Ordinal))
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }
}

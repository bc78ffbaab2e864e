using System.Globalization;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Deploy;

/// <summary>
/// Fifty deploy-and-activate cycles while a session keeps sending batches: every retired version
/// is unloaded, so the runtime's resident memory after the last cycle stays within 20% of what it
/// was after the fifth (the first cycles warm up JIT and pools).
/// </summary>
public sealed class DeployCyclesRssTests(LiveCodeVersions versions, ITestOutputHelper output) : IClassFixture<LiveCodeVersions>
{
    private const int Cycles = 50;
    private const int Baseline = 5;

    [Fact]
    public async Task FiftyCyclesUnderTraffic_KeepRssWithinTwentyPercentOfTheFifth()
    {
        await using var runtime = await RuntimeProcess.StartAsync(
            ["--UserCode:Grpc:Port=0", "--UserCode:Deploy:Enabled=true"], userCodePath: versions.V1);
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await session.OpenAsync(TestSession.InitFor("tag"));
        using var stop = new CancellationTokenSource();
        var seen = new HashSet<string>();
        var traffic = Task.Run(async () =>
        {
            for (var id = 1UL; !stop.IsCancellationRequested; id++)
            {
                var result = (await session.RunAsync([TestSession.MakeBatch(id, Enumerable.Range(0, 20).Select(i => $"{id}:{i}"))], inFlight: 1))[id];
                Assert.Equal(20, result.Results.Count(r => r.OutcomeCase == ItemResult.OutcomeOneofCase.Ok));
                lock (seen)
                {
                    seen.Add(result.CodeVersion);
                }
            }
        });

        using var deploy = new DeployClient(runtime.Address);
        var packages = new[] { LiveCodeVersions.Zip(versions.V2), LiveCodeVersions.Zip(versions.V1) };
        var rss = new List<long>();
        string? previous = null;
        for (var cycle = 1; cycle <= Cycles; cycle++)
        {
            var uploaded = await deploy.UploadAsync(packages[cycle % 2], PackageKind.Zip, label: $"cycle {cycle}");
            await deploy.ActivateAsync(uploaded.Version);
            if (previous is not null)
            {
                await RemoveWhenIdleAsync(deploy, previous);
            }

            previous = uploaded.Version;
            await Task.Delay(50);
            rss.Add(ProcessStatus.RssBytes(runtime.Pid));
        }

        await stop.CancelAsync();
        await traffic.WaitAsync(TestSession.Timeout);

        var baseline = rss[Baseline - 1];
        var last = rss[^1];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RSS after cycle {Baseline}: {baseline / 1048576.0:F1} MiB; after cycle {Cycles}: {last / 1048576.0:F1} MiB ({100.0 * (last - baseline) / baseline:+0.0;-0.0}%); max {rss.Max() / 1048576.0:F1} MiB"));
        output.WriteLine("per cycle (MiB): " + string.Join(' ', rss.Select(r => (r / 1048576.0).ToString("F1", CultureInfo.InvariantCulture))));
        Assert.True(seen.Count > 10, $"traffic ran on {seen.Count} version(s) only");
        Assert.True(last <= baseline * 1.2, $"RSS grew from {baseline} to {last} bytes over {Cycles - Baseline} cycles; runtime log:\n{runtime.Log}");
        var list = await deploy.ListAsync();
        Assert.Equal(CodeVersion.Types.State.Current, list.Versions.Single(v => v.Version == previous).State);
        Assert.All(list.Versions.Where(v => v.Version != previous), v => Assert.Equal(CodeVersion.Types.State.Unloaded, v.State));
    }

    /// <summary>Removes a version once its last batch ended (Remove refuses one still in use).</summary>
    private static async Task RemoveWhenIdleAsync(DeployClient deploy, string version)
    {
        var until = DateTime.UtcNow + TestSession.Timeout;
        while (true)
        {
            try
            {
                await deploy.RemoveAsync(version);
                return;
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.FailedPrecondition && DateTime.UtcNow < until)
            {
                await Task.Delay(10);
            }
        }
    }
}

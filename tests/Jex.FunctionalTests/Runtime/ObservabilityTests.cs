using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Jex.FunctionalTests.Hostile;
using Jex.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>
/// The real jex-runtime's metrics, traces and health seen from outside: a Prometheus scrape of
/// /metrics, OTLP/HTTP export to a receiver in this process, and grpc.health.v1 during a drain.
/// </summary>
public sealed partial class ObservabilityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const int SigTerm = 15;

    [Fact]
    public async Task Prometheus_AfterThreeIdentityBatchesAndAFailingOne_ShowsItemsHistogramAndErrorCode()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0", "--UserCode:Metrics:Prometheus=true"]);
        try
        {
            var url = runtime.ReadyInfo.Metrics;
            Assert.NotNull(url);
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/metrics$", url);

            await using (var identity = new TestSession(GrpcTestChannel.Open(runtime.Address)))
            {
                await identity.OpenAsync(TestSession.InitFor("identity"));
                var values = Enumerable.Range(0, 100).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
                var results = await identity.RunAsync([TestSession.MakeBatch(1, values), TestSession.MakeBatch(2, values), TestSession.MakeBatch(3, values)], 3);
                Assert.All(results.Values, r => Assert.Equal(100, r.Results.Count(i => i.Ok is not null)));
            }

            await using (var throwing = new TestSession(GrpcTestChannel.Open(runtime.Address)))
            {
                await throwing.OpenAsync(TestSession.InitFor("throwOnDemand"));
                var result = (await throwing.RunAsync([TestSession.MakeBatch(1, ["throw-1", "ok", "throw-2"])], 1))[1];
                Assert.Equal(2, result.Results.Count(i => i.Error is not null));
            }

            // A batch is counted just after its result goes out: poll until the last one shows.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string text;
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                text = await http.GetStringAsync(url);
                if (Value(text, "jex_runtime_items_total", ("function", "throwOnDemand"), ("outcome", "error")) == 2 || deadline.Elapsed > Timeout)
                {
                    break;
                }

                await Task.Delay(100);
            }

            output.WriteLine(text);
            Assert.Equal(300, Value(text, "jex_runtime_items_total", ("function", "identity"), ("outcome", "ok")));
            Assert.Equal(1, Value(text, "jex_runtime_items_total", ("function", "throwOnDemand"), ("outcome", "ok")));
            Assert.Equal(2, Value(text, "jex_runtime_item_errors_total", ("function", "throwOnDemand"), ("code", "USER_EXCEPTION")));
            Assert.Equal(3, Value(text, "jex_runtime_batches_total", ("function", "identity"), ("transport", "grpc")));
            Assert.Contains("# TYPE jex_runtime_batch_duration_seconds histogram", text, StringComparison.Ordinal);
            Assert.Equal(3, Value(text, "jex_runtime_batch_duration_seconds_count", ("function", "identity"), ("transport", "grpc")));
            Assert.Equal(3, Value(text, "jex_runtime_batch_duration_seconds_bucket", ("function", "identity"), ("transport", "grpc"), ("le", "+Inf")));

            // The gRPC listener stays HTTP/2 only; /metrics is on its own port.
            Assert.NotEqual(new Uri(runtime.Address).Port, new Uri(url).Port);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    [Fact]
    public async Task Prometheus_OverSharedMemory_IsNamedInTheReadyLineAndServes()
    {
        var uid = "obs" + Guid.NewGuid().ToString("N")[..10];
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Transport=shared-memory", $"--UserCode:Uid={uid}", "--UserCode:Metrics:Prometheus=true"]);
        try
        {
            var url = runtime.ReadyInfo.Metrics;
            Assert.NotNull(url);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var deadline = Stopwatch.StartNew();
            HttpResponseMessage response;
            while (true)
            {
                // Shared memory says ready before Kestrel starts; the bound socket queues the scrape meanwhile.
                response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode || deadline.Elapsed > Timeout)
                {
                    break;
                }

                await Task.Delay(100);
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("target_info", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    [Fact]
    public async Task Otlp_ExportsTheBatchSpanUnderTheMembersTraceAndTheMetrics()
    {
        using var receiver = new OtlpReceiver();
        var traceId = ActivityTraceId.CreateRandom();
        var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0", $"--UserCode:Otlp:Endpoint={receiver.Url}"]);
        await using (runtime)
        {
            try
            {
                await using (var session = new TestSession(GrpcTestChannel.Open(runtime.Address)))
                {
                    await session.OpenAsync(TestSession.InitFor("identity"));
                    var batch = TestSession.MakeBatch(1, ["a", "b"]);
                    batch.Traceparent = $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
                    Assert.Equal(2, (await session.RunAsync([batch], 1))[1].Results.Count);
                }

                // A stop flushes both exporters.
                runtime.Signal(SigTerm);
                Assert.Equal(0, await runtime.WaitForExitAsync(Timeout));

                var traces = receiver.Bodies("/v1/traces");
                Assert.NotEmpty(traces);
                var id = Convert.FromHexString(traceId.ToHexString());
                Assert.Contains(traces, body => body.AsSpan().IndexOf(id) >= 0);
                Assert.Contains(traces, body => body.AsSpan().IndexOf("jex.runtime.batch"u8) >= 0);
                var metrics = receiver.Bodies("/v1/metrics");
                Assert.Contains(metrics, body => body.AsSpan().IndexOf("jex.runtime.items"u8) >= 0);
            }
            catch
            {
                output.WriteLine("runtime log:\n" + runtime.Log);
                throw;
            }
        }
    }

    [Fact]
    public async Task Health_IsServingOnceReady_AndNotServingWhileDraining()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"]);
        try
        {
            Assert.Equal(1, await SessionRawGrpc.HealthAsync(runtime.Address));
            var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await session.OpenAsync(TestSession.InitFor("sleepy"));
            await session.SendAsync(new Jex.Protocol.V1.MemberMessage { Batch = TestSession.MakeBatch(1, ["sleep:4000"]) });
            await Task.Delay(300);

            // The batch holds the drain open for four seconds; health says so meanwhile.
            runtime.Signal(SigTerm);
            var sawNotServing = false;
            var deadline = Stopwatch.StartNew();
            while (!sawNotServing && deadline.Elapsed < TimeSpan.FromSeconds(3))
            {
                sawNotServing = await SessionRawGrpc.HealthAsync(runtime.Address) == 2;
            }

            Assert.True(sawNotServing, "health never said NOT_SERVING during the drain");
            Assert.False(runtime.HasExited);
            var result = await session.ReadUntilAsync(m => m.Result is not null);
            Assert.Equal("sleep:4000", TestSession.Text(result.Result.Results[0].Ok.Outputs_[0].Value));
            Assert.NotNull(await session.ReadUntilAsync(m => m.Drained is not null));
            // The member leaves once drained; then the runtime exits without waiting out the drain timeout.
            await session.DisposeAsync();
            Assert.Equal(0, await runtime.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    /// <summary>The sample's value for a series whose labels include <paramref name="labels"/>; null when none.</summary>
    private static double? Value(string exposition, string name, params (string Key, string Value)[] labels)
    {
        foreach (var line in exposition.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var found = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            if (labels.All(l => found.TryGetValue(l.Key, out var v) && v == l.Value))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>[^}]*)\} (?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"")]
    private static partial Regex LabelPair();

    /// <summary>An OTLP/HTTP collector stand-in: accepts every POST and keeps its body by path.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _received = new();
        private readonly Task _loop;

        public OtlpReceiver()
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/";
                probe.Stop();
            }

            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public List<byte[]> Bodies(string path) => [.. _received.Where(r => r.Path == path).Select(r => r.Body)];

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (context.Request.HttpMethod == "POST" && context.Request.ContentType == "application/x-protobuf")
                {
                    _received.Enqueue((context.Request.Url!.AbsolutePath, body.ToArray()));
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}

using System.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Jex.Protocol.V1;
using Jex.Runtime.Transports.Grpc;
using Jex.Runtime.UserCode;
using Jex.Testing.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Tests.InProcess;

/// <summary>
/// The runtime's gRPC service and dispatcher on an in-memory <see cref="TestServer"/>, with the
/// sample functions loaded from their build output: session logic end to end, over real gRPC
/// framing, without <c>./demo.sh build</c>, sockets or child processes.
/// </summary>
/// <remarks>
/// Every log record is captured. <see cref="DisposeAsync"/> fails the test when an Error (or
/// Critical) record was logged that the test did not declare with <see cref="ExpectErrors"/>:
/// a runtime that answers correctly while logging a failure is still broken.
/// </remarks>
public sealed class InProcessRuntime : IAsyncDisposable
{
    public const string Token = "in-process-token";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly Method<byte[], byte[]> RawTransform = new(
        MethodType.DuplexStreaming, "jex.v1.UserCode", "Transform", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    private readonly IHost _host;
    private readonly GrpcChannel _channel;
    private readonly HashSet<int> _expectedErrors = [];

    private InProcessRuntime(IHost host, CapturingLoggerProvider logs)
    {
        _host = host;
        Logs = logs;
        var server = host.GetTestServer();
        _channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.CreateHandler() });
        Client = new Jex.Protocol.V1.UserCode.UserCodeClient(_channel);
    }

    /// <summary>The sample functions, built with this test project (a ProjectReference without its output).</summary>
    public static string SamplesAssembly { get; } =
        typeof(InProcessRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "JexSamplesAssembly").Value
        ?? throw new InvalidOperationException("the JexSamplesAssembly metadata is missing from Jex.Runtime.Tests.csproj");

    public CapturingLoggerProvider Logs { get; }

    public Jex.Protocol.V1.UserCode.UserCodeClient Client { get; }

    public IServiceProvider Services => _host.Services;

    /// <summary>Starts a runtime; <paramref name="settings"/> adds or overrides configuration keys (e.g. "UserCode:MaxInFlight").</summary>
    public static async Task<InProcessRuntime> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["UserCode:Token"] = Token,
            ["UserCode:Path"] = RequireSamples(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var host = new HostBuilder()
            .ConfigureAppConfiguration(c => c.AddInMemoryCollection(configuration))
            .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices((context, services) => services
                    .AddRouting()
                    .AddJexRuntime(context.Configuration, sp => UserCodeLoader.Load(SamplesAssembly, sp.GetRequiredService<ILoggerFactory>(), new PayloadCodecs())))
                .Configure(app => app
                    .UseRouting()
                    .UseEndpoints(endpoints => endpoints.MapGrpcService<UserCodeService>())))
            .Build();
        await host.StartAsync().WaitAsync(Timeout);
        return new InProcessRuntime(host, logs);
    }

    /// <summary>Declares that the test causes Error records with this event id; they do not fail it.</summary>
    public void ExpectErrors(int eventId) => _expectedErrors.Add(eventId);

    /// <summary>Opens a Transform call: one session.</summary>
    public TestCall Open(CancellationToken cancellationToken = default) => new(Client.Transform(cancellationToken: cancellationToken));

    /// <summary>Opens a Transform call that sends and receives raw bytes, for messages no client would build.</summary>
    public AsyncDuplexStreamingCall<byte[], byte[]> OpenRaw() =>
        _channel.CreateCallInvoker().AsyncDuplexStreamingCall(RawTransform, null, new CallOptions());

    /// <summary>A valid Init for a sample function, with text keys and values.</summary>
    public static Init InitFor(string function, string token = Token) => new()
    {
        ProtocolVersion = 1,
        Token = token,
        JobId = "job-1",
        JobName = "in-process",
        StageName = "stage-1",
        Function = function,
        KeyFormat = Format.Text,
        ValueFormat = Format.Text,
    };

    /// <summary>Opens a session and waits for its Ready.</summary>
    public async Task<(TestCall Call, Ready Ready)> OpenSessionAsync(string function)
    {
        var call = Open();
        await call.SendAsync(new MemberMessage { Init = InitFor(function) });
        var first = await call.ReadAsync() ?? throw new InvalidOperationException($"the session for {function} ended before Ready; log:{Environment.NewLine}{Logs.Dump()}");
        return (call, first.Ready ?? throw new InvalidOperationException($"the first message was {first.KindCase}, not Ready"));
    }

    /// <summary>Throws when an Error or Critical record was logged that the test did not declare.</summary>
    public void VerifyNoUndeclaredErrors()
    {
        var unexpected = Logs.Entries.Where(e => e.Level >= LogLevel.Error && !_expectedErrors.Contains(e.EventId.Id)).ToList();
        if (unexpected.Count > 0)
        {
            throw new InvalidOperationException(
                $"{unexpected.Count} undeclared Error record(s) (declare them with ExpectErrors(eventId) if the test causes them):{Environment.NewLine}" +
                string.Join(Environment.NewLine, unexpected) + $"{Environment.NewLine}Full log:{Environment.NewLine}{Logs.Dump()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _host.StopAsync().WaitAsync(Timeout);
        _host.Dispose();
        VerifyNoUndeclaredErrors();
    }

    private static string RequireSamples() =>
        File.Exists(SamplesAssembly)
            ? SamplesAssembly
            : throw new FileNotFoundException($"'{SamplesAssembly}' is missing: build Jex.Runtime.Tests (it builds jobs/samples/Jex.Samples) with the same configuration", SamplesAssembly);
}

/// <summary>One Transform call as a member drives it; every await is bounded by <see cref="InProcessRuntime.Timeout"/>.</summary>
public sealed class TestCall(AsyncDuplexStreamingCall<MemberMessage, RuntimeMessage> call) : IDisposable
{
    public Task SendAsync(MemberMessage message) => call.RequestStream.WriteAsync(message).WaitAsync(InProcessRuntime.Timeout);

    public Task CompleteAsync() => call.RequestStream.CompleteAsync().WaitAsync(InProcessRuntime.Timeout);

    /// <summary>The next message, or null when the runtime ended the call with OK.</summary>
    public async Task<RuntimeMessage?> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(InProcessRuntime.Timeout);
        return await call.ResponseStream.MoveNext(timeout.Token).WaitAsync(InProcessRuntime.Timeout) ? call.ResponseStream.Current : null;
    }

    /// <summary>Reads until a message of <paramref name="kind"/>, returning it and what came before it.</summary>
    public async Task<(RuntimeMessage Message, List<RuntimeMessage> Before)> ReadUntilAsync(RuntimeMessage.KindOneofCase kind)
    {
        var before = new List<RuntimeMessage>();
        while (await ReadAsync() is { } message)
        {
            if (message.KindCase == kind)
            {
                return (message, before);
            }

            before.Add(message);
        }

        throw new InvalidOperationException($"the call ended before a {kind} arrived; it sent {string.Join(", ", before.Select(m => m.KindCase))}");
    }

    /// <summary>The status the call ended with, once the runtime ends it.</summary>
    public async Task<RpcException> ReadUntilFailureAsync()
    {
        try
        {
            while (await ReadAsync() is not null)
            {
            }
        }
        catch (RpcException e)
        {
            return e;
        }

        throw new InvalidOperationException("the call ended with OK, not with an error status");
    }

    public void Dispose() => call.Dispose();
}

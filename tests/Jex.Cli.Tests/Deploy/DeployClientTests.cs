using System.Security.Cryptography;
using Grpc.Core;
using Jex.Cli.Deploy;
using Jex.Protocol.V1;

namespace Jex.Cli.Tests.Deploy;

/// <summary>The calls jex deploy makes, as a runtime receives them, and the one line each refusal becomes.</summary>
public sealed class DeployClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CodePackage PackageOf(int size, string name = "Big.dll")
    {
        var folder = Directory.CreateTempSubdirectory("jex-client-").FullName;
        try
        {
            var file = Path.Combine(folder, name);
            var bytes = new byte[size];
            new Random(42).NextBytes(bytes);
            File.WriteAllBytes(file, bytes);
            return CodePackage.FromPath(file);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Upload_WhenThePackageIsLargerThanAChunk_SendsTheHeaderFirstAndChunksOfAtMostOneMiB()
    {
        var invoker = new RecordingInvoker { UploadAnswer = new UploadResult { Version = "v3", Files = 1, Bytes = 2_621_440 } };
        using var client = new DeployClient(invoker, "http://127.0.0.1:1", "tok");
        var package = PackageOf(2_621_440);

        var result = await client.UploadAsync(package, "nightly", CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("v3", result.Version);
        Assert.Equal([1_048_576, 1_048_576, 524_288], invoker.Chunks.Select(c => c.Data.Length));
        var header = invoker.Chunks[0].Header;
        Assert.Equal("nightly", header.Label);
        Assert.Equal(PackageKind.Assembly, header.Kind);
        Assert.Equal("Big.dll", header.FileName);
        Assert.Equal(2_621_440UL, header.Size);
        Assert.Equal(SHA256.HashData(package.Bytes), header.Sha256.ToByteArray());
        Assert.All(invoker.Chunks.Skip(1), c => Assert.Null(c.Header));
        Assert.Equal(package.Bytes, invoker.Chunks.SelectMany(c => c.Data.ToByteArray()).ToArray());
        Assert.True(invoker.Completed);
        Assert.Equal("Bearer tok", invoker.Headers!.GetValue("authorization"));
    }

    [Fact]
    public async Task Calls_WhenNoTokenIsGiven_CarryNoAuthorization()
    {
        var invoker = new RecordingInvoker();
        using var client = new DeployClient(invoker, "http://127.0.0.1:1", null);

        await client.ActivateAsync("v2", CancellationToken.None).WaitAsync(Timeout);

        Assert.Null(invoker.Headers!.Get("authorization"));
        Assert.Equal("v2", Assert.IsType<ActivateRequest>(invoker.Requests.Single()).Version);
    }

    [Theory]
    [InlineData(StatusCode.PermissionDenied, "tok", "the runtime at http://127.0.0.1:1 refused the token (set the right one in $JEX_TOKEN)")]
    [InlineData(StatusCode.PermissionDenied, null, "the runtime at http://127.0.0.1:1 refused the call without a token (set the token in $JEX_TOKEN)")]
    [InlineData(StatusCode.Unimplemented, "tok", "the runtime at http://127.0.0.1:1 does not serve jex.v1.Deploy: start it with --UserCode:Deploy:Enabled=true (jex run --watch does)")]
    [InlineData(StatusCode.FailedPrecondition, "tok", "activation of v2 was refused, the current version keeps serving: the runtime said why")]
    [InlineData(StatusCode.NotFound, "tok", "activation of v2 was refused (NOT_FOUND): the runtime said why")]
    public async Task Activate_WhenTheRuntimeRefuses_SaysWhyInOneLine(StatusCode status, string? token, string expected)
    {
        var invoker = new RecordingInvoker { Failure = new RpcException(new Status(status, "the runtime said why")) };
        using var client = new DeployClient(invoker, "http://127.0.0.1:1", token, "$JEX_TOKEN");

        var ex = await Assert.ThrowsAsync<DeployException>(() => client.ActivateAsync("v2", CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(expected, ex.Message);
        Assert.Equal(status, ex.Status);
        Assert.False(ex.IsUnreachable);
    }

    [Fact]
    public async Task Upload_WhenTheRuntimeRefusesThePackage_QuotesItsReasonWithTheStatus()
    {
        var invoker = new RecordingInvoker { Failure = new RpcException(new Status(StatusCode.ResourceExhausted, "past UserCode:Deploy:MaxFiles (10)")) };
        using var client = new DeployClient(invoker, "http://127.0.0.1:1", "tok");
        var package = PackageOf(10, "Small.dll");

        var ex = await Assert.ThrowsAsync<DeployException>(() => client.UploadAsync(package, "l", CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal($"upload of {package.Source} was refused (RESOURCE_EXHAUSTED): past UserCode:Deploy:MaxFiles (10)", ex.Message);
    }

    [Fact]
    public async Task List_WhenNothingAnswers_IsUnreachable()
    {
        var invoker = new RecordingInvoker { Failure = new RpcException(new Status(StatusCode.Unavailable, "connection refused")) };
        using var client = new DeployClient(invoker, "unix:/tmp/none.sock", "tok");

        var ex = await Assert.ThrowsAsync<DeployException>(() => client.ListAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.True(ex.IsUnreachable);
        Assert.Equal("no runtime answers at unix:/tmp/none.sock (connection refused): check --address/--socket and that the runtime runs", ex.Message);
    }

    /// <summary>A CallInvoker that plays the runtime: records what arrives, answers or fails.</summary>
    private sealed class RecordingInvoker : CallInvoker
    {
        public List<UploadChunk> Chunks { get; } = [];

        public List<object> Requests { get; } = [];

        public Metadata? Headers { get; private set; }

        public bool Completed { get; private set; }

        public UploadResult UploadAnswer { get; init; } = new() { Version = "v1" };

        public RpcException? Failure { get; init; }

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        {
            Headers = options.Headers;
            var writer = new Writer<TRequest>(this);
            var response = Failure is { } failure ? Task.FromException<TResponse>(failure) : writer.Done.ContinueWith(_ => (TResponse)(object)UploadAnswer, TaskScheduler.Default);
            return new AsyncClientStreamingCall<TRequest, TResponse>(writer, response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            Headers = options.Headers;
            Requests.Add(request);
            object answer = request switch
            {
                ActivateRequest a => new ActivateResult { Version = a.Version },
                ListRequest => new ListResult(),
                _ => new RemoveResult(),
            };
            var response = Failure is { } failure ? Task.FromException<TResponse>(failure) : Task.FromResult((TResponse)answer);
            return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();

        private sealed class Writer<T>(RecordingInvoker owner) : IClientStreamWriter<T>
        {
            private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public Task Done => _done.Task;

            public WriteOptions? WriteOptions { get; set; }

            public Task WriteAsync(T message)
            {
                owner.Chunks.Add((UploadChunk)(object)message!);
                return Task.CompletedTask;
            }

            public Task CompleteAsync()
            {
                owner.Completed = true;
                _done.TrySetResult();
                return Task.CompletedTask;
            }
        }
    }
}

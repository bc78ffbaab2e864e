using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Protocol.V1;

namespace Jex.FunctionalTests.Deploy;

/// <summary>
/// jex.v1.Deploy against a real runtime: upload, activate, switch at a batch boundary, failed
/// activations, rollback, remove and authentication.
/// </summary>
public sealed class LiveCodeTests(LiveCodeVersions versions) : IClassFixture<LiveCodeVersions>, IDisposable
{
    private readonly string _scratch = Paths.NewTempDirectory();

    private string CodeDir => Path.Combine(_scratch, "code");

    private Task<RuntimeProcess> StartAsync(params string[] extra) =>
        RuntimeProcess.StartAsync(
            ["--UserCode:Grpc:Port=0", "--UserCode:Deploy:Enabled=true", $"--UserCode:CodeDir={CodeDir}", .. extra],
            userCodePath: versions.V1);

    private static async Task<BatchResult> RunOneAsync(TestSession session, ulong id, params string[] values)
    {
        var results = await session.RunAsync([TestSession.MakeBatch(id, values)], inFlight: 1);
        return results[id];
    }

    private static string Output(BatchResult result, int item = 0) =>
        result.Results[item].Ok.Outputs_[0].Value.ToStringUtf8();

    [Fact]
    public async Task Activate_SwitchesALiveSessionAtItsNextBatch_AndEachResultNamesItsVersion()
    {
        await using var runtime = await StartAsync();
        Assert.Equal(runtime.Address, runtime.ReadyInfo.Deploy);
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        var ready = await session.OpenAsync(TestSession.InitFor("tag"));
        Assert.Equal("v0", ready.CodeVersion);

        var before = await RunOneAsync(session, 1, "a");
        Assert.Equal(("a-v1", "v0"), (Output(before), before.CodeVersion));

        using var deploy = new DeployClient(runtime.Address);
        var uploaded = await deploy.UploadFolderAsync(versions.V2, "acme 2");
        Assert.Equal("v1", uploaded.Version);
        var activated = await deploy.ActivateAsync(uploaded.Version);
        Assert.Equal(("v1", "v0", 1u), (activated.Version, activated.PreviousVersion, activated.Sessions));
        Assert.Equal(["echo", "tag"], activated.Functions);
        Assert.True(activated.LoadUs > 0);

        var after = await RunOneAsync(session, 2, "b");
        Assert.Equal(("b-v2", "v1"), (Output(after), after.CodeVersion));

        // A session opened now starts on the new version.
        await using var later = new TestSession(GrpcTestChannel.Open(runtime.Address));
        Assert.Equal("v1", (await later.OpenAsync(TestSession.InitFor("tag"))).CodeVersion);
        Assert.Equal("c-v2", Output(await RunOneAsync(later, 1, "c")));
    }

    [Fact]
    public async Task Activate_OfAVersionThatDoesNotLoad_FailsWithTheLoadError_AndTheOldVersionKeepsServing()
    {
        await using var runtime = await StartAsync();
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await session.OpenAsync(TestSession.InitFor("tag"));
        using var deploy = new DeployClient(runtime.Address);
        var broken = await deploy.UploadFolderAsync(versions.Broken);

        var e = await Assert.ThrowsAsync<RpcException>(() => deploy.ActivateAsync(broken.Version));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("function 'noInput'", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("v0 keeps serving", e.Status.Detail, StringComparison.Ordinal);

        var after = await RunOneAsync(session, 1, "a");
        Assert.Equal(("a-v1", "v0"), (Output(after), after.CodeVersion));
        var list = await deploy.ListAsync();
        Assert.Equal(CodeVersion.Types.State.Current, list.Versions.Single(v => v.Version == "v0").State);
        Assert.Equal(CodeVersion.Types.State.Stored, list.Versions.Single(v => v.Version == broken.Version).State);
    }

    [Fact]
    public async Task Activate_OfAVersionThatChangesALiveFunctionsShape_IsRefused_NamingTheFunction()
    {
        await using var runtime = await StartAsync();
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await session.OpenAsync(TestSession.InitFor("tag"));
        using var deploy = new DeployClient(runtime.Address);
        var reshaped = await deploy.UploadFolderAsync(versions.Reshaped);

        var e = await Assert.ThrowsAsync<RpcException>(() => deploy.ActivateAsync(reshaped.Version));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("function 'tag' changed shape", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(("a-v1", "v0"), (Output(await RunOneAsync(session, 1, "a")), "v0"));
    }

    [Fact]
    public async Task ActivateOfAnEarlierVersion_RollsBack()
    {
        await using var runtime = await StartAsync();
        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        await session.OpenAsync(TestSession.InitFor("tag"));
        using var deploy = new DeployClient(runtime.Address);
        var v1 = await deploy.UploadFolderAsync(versions.V1, "one");
        var v2 = await deploy.UploadFolderAsync(versions.V2, "two");

        await deploy.ActivateAsync(v2.Version);
        var on2 = await RunOneAsync(session, 1, "a");
        var back = await deploy.ActivateAsync(v1.Version);
        var on1 = await RunOneAsync(session, 2, "b");
        var forth = await deploy.ActivateAsync(v2.Version);
        var on2Again = await RunOneAsync(session, 3, "c");

        Assert.Equal(("a-v2", v2.Version), (Output(on2), on2.CodeVersion));
        Assert.Equal((v2.Version, v1.Version), (back.PreviousVersion, back.Version));
        Assert.Equal(("b-v1", v1.Version), (Output(on1), on1.CodeVersion));
        Assert.Equal(v1.Version, forth.PreviousVersion);
        Assert.Equal(("c-v2", v2.Version), (Output(on2Again), on2Again.CodeVersion));
    }

    [Fact]
    public async Task Remove_RefusesTheCurrentVersion_AndDeletesAnotherOnesFiles()
    {
        await using var runtime = await StartAsync();
        using var deploy = new DeployClient(runtime.Address);
        var v1 = await deploy.UploadFolderAsync(versions.V1);
        var v2 = await deploy.UploadFolderAsync(versions.V2);
        await deploy.ActivateAsync(v2.Version);
        Assert.True(Directory.Exists(Path.Combine(CodeDir, v1.Version)));

        var current = await Assert.ThrowsAsync<RpcException>(() => deploy.RemoveAsync(v2.Version));
        Assert.Equal(StatusCode.FailedPrecondition, current.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => deploy.RemoveAsync("v99"));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        await deploy.RemoveAsync(v1.Version);
        Assert.False(Directory.Exists(Path.Combine(CodeDir, v1.Version)));
        Assert.Equal(["v0", v2.Version], (await deploy.ListAsync()).Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task A_CallWithoutTheToken_IsPermissionDenied_AndWritesNothing()
    {
        await using var runtime = await StartAsync();
        using var anonymous = new DeployClient(runtime.Address, token: string.Empty);
        using var wrong = new DeployClient(runtime.Address, token: "not-the-token");

        var none = await Assert.ThrowsAsync<RpcException>(() => anonymous.UploadFolderAsync(versions.V2));
        var bad = await Assert.ThrowsAsync<RpcException>(() => wrong.ListAsync());
        var activate = await Assert.ThrowsAsync<RpcException>(() => wrong.ActivateAsync("v0"));

        Assert.Equal([StatusCode.PermissionDenied, StatusCode.PermissionDenied, StatusCode.PermissionDenied], [none.StatusCode, bad.StatusCode, activate.StatusCode]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(CodeDir));
    }

    [Fact]
    public async Task A_RuntimeWithoutDeployEnabled_AnswersUnimplemented()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"], userCodePath: versions.V1);
        Assert.Null(runtime.ReadyInfo.Deploy);
        using var deploy = new DeployClient(runtime.Address);

        var e = await Assert.ThrowsAsync<RpcException>(() => deploy.ListAsync());
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);

        await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
        Assert.Equal(string.Empty, (await session.OpenAsync(TestSession.InitFor("tag"))).CodeVersion);
        var result = await RunOneAsync(session, 1, "a");
        Assert.Equal(("a-v1", string.Empty), (Output(result), result.CodeVersion));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

using System.Diagnostics;
using Jex.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace Jex.FunctionalTests.Runtime;

/// <summary>
/// User libraries get their own copies of the packages they ship, even ones the runtime also
/// carries, while the contract, the logging and the DI abstractions stay the runtime's. One real
/// runtime loads every sample library from <c>out/samples</c>, as a member's would.
/// </summary>
public sealed class IsolationTests(ITestOutputHelper output)
{
    private const string IsolatedContext = "jex-user:Jex.Samples.Isolated";

    private static string PackageVersion(string file)
    {
        var version = FileVersionInfo.GetVersionInfo(file).ProductVersion ?? throw new InvalidOperationException("no product version in " + file);
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    [Fact]
    public async Task UserLibrary_ShippingItsOwnGoogleProtobufAndNewtonsoft_SeesItsOwnVersionsNotTheRuntimes()
    {
        var runtimeProtobuf = PackageVersion(Path.Combine(Path.GetDirectoryName(Paths.Runtime)!, "Google.Protobuf.dll"));
        var libraryFolder = Path.Combine(Paths.Samples, "Jex.Samples.Isolated");
        var libraryProtobuf = PackageVersion(Path.Combine(libraryFolder, "Google.Protobuf.dll"));
        var libraryNewtonsoft = PackageVersion(Path.Combine(libraryFolder, "Newtonsoft.Json.dll"));
        // The test means something only while the two differ (the sample pins an older version).
        Assert.NotEqual(runtimeProtobuf, libraryProtobuf);
        Assert.Equal("3.30.2", libraryProtobuf);
        Assert.Equal("12.0.3", libraryNewtonsoft);

        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"]);
        try
        {
            await using var session = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await session.OpenAsync(TestSession.InitFor("isolationReport"));
            var result = (await session.RunAsync([TestSession.MakeBatch(1, ["x"])], 1))[1];
            var lines = TestSession.Text(Assert.Single(result.Results[0].Ok.Outputs_).Value).Split('\n');

            Assert.Equal($"Google.Protobuf {libraryProtobuf} {IsolatedContext}", lines[0]);
            Assert.Equal($"Newtonsoft.Json {libraryNewtonsoft} {IsolatedContext}", lines[1]);
            Assert.StartsWith("Microsoft.Extensions.Logging.Abstractions ", lines[2], StringComparison.Ordinal);
            Assert.EndsWith(" Default", lines[2], StringComparison.Ordinal);
            Assert.StartsWith("Jex.UserCode ", lines[3], StringComparison.Ordinal);
            Assert.EndsWith(" Default", lines[3], StringComparison.Ordinal);
            // The shared logging abstractions carry the user's log record to the member.
            var log = Assert.Single(session.Logs);
            Assert.Equal("isolation report for x", log.Message);
            Assert.Equal(1UL, log.BatchId);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }

    [Fact]
    public async Task TwoUserLibraries_WithDifferentNewtonsoftVersions_EachGetTheirOwnInOneRuntime()
    {
        await using var runtime = await RuntimeProcess.StartAsync(["--UserCode:Grpc:Port=0"]);
        try
        {
            await using (var isolated = new TestSession(GrpcTestChannel.Open(runtime.Address)))
            {
                await isolated.OpenAsync(TestSession.InitFor("isolationReport"));
                var report = TestSession.Text((await isolated.RunAsync([TestSession.MakeBatch(1, ["a"])], 1))[1].Results[0].Ok.Outputs_[0].Value);
                Assert.Contains($"Newtonsoft.Json 12.0.3 {IsolatedContext}", report, StringComparison.Ordinal);
            }

            // Jex.Samples.Dependent ships Newtonsoft.Json 13.0.3 (assembly version 13.0.0.0).
            await using var dependent = new TestSession(GrpcTestChannel.Open(runtime.Address));
            await dependent.OpenAsync(TestSession.InitFor("newtonsoftTag"));
            var tagged = TestSession.Text((await dependent.RunAsync([TestSession.MakeBatch(1, ["{}"])], 1))[1].Results[0].Ok.Outputs_[0].Value);
            Assert.Equal("{\"taggedBy\":\"Newtonsoft.Json 13.0.0.0\"}", tagged);
            Assert.Empty(dependent.Errors);
        }
        catch
        {
            output.WriteLine("runtime log:\n" + runtime.Log);
            throw;
        }
    }
}

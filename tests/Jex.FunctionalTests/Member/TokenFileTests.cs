using Grpc.Core;
using Jex.FunctionalTests.Infrastructure;
using Jex.Member.Transports;
using Jex.Protocol.V1;
using Jex.Testing.Shared;

namespace Jex.FunctionalTests.Member;

/// <summary>
/// <c>UserCode:TokenFile</c> on a real runtime: the token comes from a file only its owner can
/// read (what container mode mounts), and anything else stops the runtime with exit 2 and one line.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TokenFileTests : IDisposable
{
    private readonly TempDirectory _dir = new("jex-member");

    public void Dispose() => _dir.Dispose();

    private string WriteToken(string content, UnixFileMode mode)
    {
        var path = _dir.File("token-" + Guid.NewGuid().ToString("N")[..6]);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public async Task TokenFile_WithMode0400_IsTheTokenTheRuntimeAcceptsAndOthersAreRefused()
    {
        var token = "file-token-" + Guid.NewGuid().ToString("N");
        var path = WriteToken(token + "\n", UnixFileMode.UserRead);
        await using var runtime = RuntimeProcess.Start([$"--UserCode:TokenFile={path}"], token: "");
        await runtime.WaitReadyAsync(TimeSpan.FromSeconds(30));

        await using (var good = new TestSession(GrpcTestChannel.Open(runtime.Address)))
        {
            await good.OpenAsync(TestSession.InitFor("identity", token));
            var results = await good.RunAsync([TestSession.MakeBatch(1, ["x"])], 1);
            Assert.Single(results);
        }

        await using var bad = new TestSession(GrpcTestChannel.Open(runtime.Address));
        var refused = await Assert.ThrowsAsync<SessionEndedException>(async () =>
        {
            await bad.OpenAsync(TestSession.InitFor("identity", token + "x"));
            await bad.SendAsync(new MemberMessage { Batch = TestSession.MakeBatch(1, ["{}"]) });
            await bad.ReadAsync();
        });
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        // The token is set, so the runtime does not warn that everyone is accepted.
        Assert.DoesNotContain(runtime.StderrLines, l => l.Contains("UserCode:Token is not set", StringComparison.Ordinal));
        Assert.DoesNotContain(runtime.StderrLines, l => l.Contains(token, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "group-readable", "has mode 0640, readable or writable by group or others; make it 0400 or 0600" },
        { "world-readable", "has mode 0644, readable or writable by group or others; make it 0400 or 0600" },
        { "missing", "does not exist" },
        { "empty", "is empty" },
        { "both", "UserCode:Token and UserCode:TokenFile" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task TokenFile_WhenUnsafeMissingEmptyOrBesideToken_ExitsTwoWithOneLineNamingKeyAndPath(string kind, string expected)
    {
        var path = kind switch
        {
            "group-readable" => WriteToken("t", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead),
            "world-readable" => WriteToken("t", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
            "missing" => _dir.File("no-such-token"),
            "empty" => WriteToken("\n", UnixFileMode.UserRead),
            _ => WriteToken("t", UnixFileMode.UserRead),
        };
        await using var runtime = RuntimeProcess.Start([$"--UserCode:TokenFile={path}"], token: kind == "both" ? "env-token" : "");

        var code = await runtime.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 2, $"exit {code}:\n{runtime.Log}");
        var line = Assert.Single(runtime.StderrLines, l => l.StartsWith("jex-runtime: configuration error: ", StringComparison.Ordinal));
        Assert.Contains($"UserCode:TokenFile '{path}'", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(runtime.StdoutLines);
    }
}

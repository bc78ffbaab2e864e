using System.Diagnostics;

namespace Jex.Hazelcast.Tests;

/// <summary>The real <c>jex</c> executable (built beside the tests) as tools call it: exit code, stdout, stderr.</summary>
public sealed class CliTests
{
    private const string DemoHex = "00000000ffffffc9462e8dfd6146592700000014";

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Jex(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jex.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout.WaitAsync(TimeSpan.FromSeconds(30)), await stderr.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static string SchemaFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"jex-schemas-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """[{"typeName":"some-thing","fields":[{"name":"value","kind":"INT32"}]},{"typeName":"other-thing","fields":[{"name":"value","kind":"STRING"}]}]""");
        return path;
    }

    [Fact]
    public async Task Decode_WithSchemas_PrintsTypeFirstAndExitsZero()
    {
        string schemas = SchemaFile();
        try
        {
            var (code, stdout, stderr) = await Jex("data", "decode", "--schemas", schemas, DemoHex);
            Assert.Equal(0, code);
            Assert.Equal("{\"$type\":\"some-thing\",\"value\":20}", stdout.Trim());
            Assert.Equal(string.Empty, stderr);
        }
        finally
        {
            File.Delete(schemas);
        }
    }

    [Fact]
    public async Task Encode_Compact_PrintsTheClientsBytes()
    {
        string schemas = SchemaFile();
        try
        {
            var (code, stdout, _) = await Jex("data", "encode", "--schemas", schemas, "--as", "compact", "{\"$type\":\"other-thing\",\"value\":\"__20__\"}");
            Assert.Equal(0, code);
            Assert.Equal(VectorFile.Current.Get("compact: other-thing \"__20__\"").Bytes, Convert.FromHexString(stdout.Trim()));
        }
        finally
        {
            File.Delete(schemas);
        }
    }

    [Fact]
    public async Task Encode_Int64_IsExact()
    {
        var (code, stdout, _) = await Jex("data", "encode", "--as", "int64", "-9223372036854775808");
        Assert.Equal(0, code);
        Assert.Equal("00000000fffffff88000000000000000", stdout.Trim());
        var (code2, stdout2, _) = await Jex("data", "decode", stdout.Trim());
        Assert.Equal(0, code2);
        Assert.Equal("-9223372036854775808", stdout2.Trim());
    }

    [Theory]
    [InlineData("decode|xyz", "bad hex")]
    [InlineData("decode|000000", "truncated")]
    [InlineData("decode|00000000fffffff9", "truncated")]
    [InlineData("decode|0000000000003039", "unknown or unsupported type id 12345")]
    [InlineData("decode|" + DemoHex, "unknown Compact schema id 5057135550981888295")]
    [InlineData("encode|--as|int8|300", "int8")]
    [InlineData("encode|--as|compact|{\"$type\":\"nope\"}", "no schema for Compact type 'nope'")]
    [InlineData("encode|--as|wat|1", "unknown kind 'wat'")]
    [InlineData("encode|--as|string|{not json", "not valid JSON")]
    public async Task BadInput_ExitsNonZeroWithOneLineOnStderr(string args, string expected)
    {
        var (code, stdout, stderr) = await Jex(["data", .. args.Split('|')]);
        Assert.NotEqual(0, code);
        Assert.Equal(string.Empty, stdout);
        var lines = stderr.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}

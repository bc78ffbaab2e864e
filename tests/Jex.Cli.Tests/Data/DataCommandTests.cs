using Jex.Cli.Data;

namespace Jex.Cli.Tests.Data;

public sealed class DataCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("jex-data-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Data(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await DataCommand.Create(stdout, stderr).Parse(args).InvokeAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Decode_WithAMissingSchemaFile_ExitsOneNamingTheFile()
    {
        var path = Path.Combine(_root, "nope.json");

        var (code, stdout, stderr) = await Data("decode", "--schemas", path, "00");

        Assert.Equal(DataCommand.ExitBadInput, code);
        Assert.Empty(stdout);
        Assert.StartsWith($"jex data decode: cannot read the schema file {path}: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encode_WithAMissingBatchFile_ExitsOneNamingTheFile()
    {
        var path = Path.Combine(_root, "nope.jsonl");

        var (code, _, stderr) = await Data("encode", "--batch", path);

        Assert.Equal(DataCommand.ExitBadInput, code);
        Assert.StartsWith($"jex data encode: cannot read {path}: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encode_WithJsonThatDoesNotParse_ExitsOneSayingSo()
    {
        var (code, stdout, stderr) = await Data("encode", "--as", "int32", "{1");

        Assert.Equal(DataCommand.ExitBadInput, code);
        Assert.Empty(stdout);
        Assert.StartsWith("jex data encode: the value is not valid JSON: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encode_ABatchFile_PrintsOneLinePerValueAndAnErrorForABadOne()
    {
        var path = Path.Combine(_root, "batch.jsonl");
        await File.WriteAllTextAsync(path, "{\"kind\":\"int32\",\"value\":1}\n\n{\"kind\":\"int32\"}\n").WaitAsync(TimeSpan.FromSeconds(5));

        var (code, stdout, stderr) = await Data("encode", "--batch", path);

        Assert.Equal(DataCommand.ExitOk, code);
        Assert.Empty(stderr);
        var lines = stdout.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(2, lines.Length);
        // Hazelcast type id -7 is INTEGER; then the value, big-endian.
        Assert.Equal("00000000fffffff900000001", lines[0]);
        Assert.StartsWith("error: batch.jsonl:3: ", lines[1], StringComparison.Ordinal);
    }
}

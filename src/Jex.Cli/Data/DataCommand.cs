using System.CommandLine;
using System.Text.Json;
using Jex.Cli.Run;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Json;
using Jex.Hazelcast.Serialization;

namespace Jex.Cli.Data;

/// <summary>
/// <c>jex data decode [--schemas FILE] HEX</c> and <c>jex data encode [--schemas FILE] --as KIND JSON</c>:
/// Hazelcast <c>Data</c> bytes to and from the JSON shape of <see cref="HazelcastJson"/>. Bad input
/// exits 1 with one line on stderr naming the problem; never a stack trace.
/// </summary>
internal static class DataCommand
{
    public const int ExitOk = 0;
    public const int ExitBadInput = 1;

    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var data = new Command("data", "Decode and encode Hazelcast binary data (Data envelope, built-in types, Compact).");
        data.Subcommands.Add(CreateDecode(stdout, stderr));
        data.Subcommands.Add(CreateEncode(stdout, stderr));
        return data;
    }

    private static Option<FileInfo?> SchemasOption() => new("--schemas")
    {
        HelpName = "FILE",
        Description = "A file (not inline JSON) holding a JSON array of Compact schemas: [{\"typeName\": \"...\", \"fields\": [{\"name\": \"...\", \"kind\": \"INT32\"}]}].",
    };

    private static Command CreateDecode(TextWriter? stdout, TextWriter? stderr)
    {
        var schemas = SchemasOption();
        var hex = new Argument<string>("HEX") { Description = "The Data bytes as hex (whitespace and a 0x prefix are ignored)." };
        var command = new Command("decode", "Print Hazelcast Data bytes as one JSON document.") { schemas, hex };
        command.SetAction(parse => Run(stderr, "decode", () =>
        {
            var registry = LoadSchemas(parse.GetValue(schemas));
            byte[] bytes = ParseHex(parse.GetValue(hex) ?? string.Empty);
            var value = HazelcastSerializer.Deserialize(bytes, registry);
            (stdout ?? Console.Out).WriteLine(HazelcastJson.ToJson(value));
        }));
        return command;
    }

    private static Command CreateEncode(TextWriter? stdout, TextWriter? stderr)
    {
        var schemas = SchemasOption();
        var kind = new Option<string?>("--as")
        {
            HelpName = "KIND",
            Description = "The kind to encode: " + string.Join(' ', HazelcastJson.Kinds) + ". For compact, the JSON's \"$type\" picks the schema.",
        };
        var batch = new Option<FileInfo?>("--batch")
        {
            HelpName = "FILE",
            Description = "Encode many values: a file of JSON lines {\"kind\": KIND, \"value\": JSON}; prints one hex line each (or \"error: ...\").",
        };
        var json = new Argument<string?>("JSON") { Description = "The value as JSON.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("encode", "Print a JSON value as Hazelcast Data bytes in lowercase hex.") { schemas, kind, batch, json };
        command.SetAction(parse => Run(stderr, "encode", () =>
        {
            var registry = LoadSchemas(parse.GetValue(schemas));
            var output = stdout ?? Console.Out;
            if (parse.GetValue(batch) is { } batchFile)
            {
                EncodeBatch(batchFile, registry, output);
                return;
            }

            string asKind = parse.GetValue(kind) ?? throw new HazelcastCodecException("--as KIND is required (one of: " + string.Join(' ', HazelcastJson.Kinds) + ")");
            string text = parse.GetValue(json) ?? throw new HazelcastCodecException("the JSON value to encode is required");
            output.WriteLine(Encode(text, asKind, registry));
        }));
        return command;
    }

    private static string Encode(string jsonText, string kind, SchemaRegistry registry)
    {
        using var doc = UserInput.ParseJson(jsonText, e => new HazelcastCodecException($"the value is not valid JSON: {e.Message}"));
        var value = HazelcastJson.FromJson(doc.RootElement, kind, registry);
        return Convert.ToHexStringLower(HazelcastSerializer.Serialize(value));
    }

    private static void EncodeBatch(FileInfo file, SchemaRegistry registry, TextWriter output)
    {
        int line = 0;
        var lines = UserInput.ReadFile(file.FullName, File.ReadAllLines, e => new HazelcastCodecException($"cannot read {file.FullName}: {e.Message}"));
        foreach (string text in lines)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                string kind = root.GetProperty("kind").GetString() ?? throw new HazelcastCodecException("\"kind\" is null");
                var value = HazelcastJson.FromJson(root.GetProperty("value"), kind, registry);
                output.WriteLine(Convert.ToHexStringLower(HazelcastSerializer.Serialize(value)));
            }
            catch (Exception e) when (e is HazelcastCodecException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                output.WriteLine($"error: {file.Name}:{line}: {OneLine(e.Message)}");
            }
        }
    }

    private static int Run(TextWriter? stderr, string name, Action action)
    {
        try
        {
            action();
            return ExitOk;
        }
        catch (Exception e) when (e is HazelcastCodecException or FormatException or JsonException)
        {
            (stderr ?? Console.Error).WriteLine($"jex data {name}: {OneLine(e.Message)}");
            return ExitBadInput;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    internal static SchemaRegistry LoadSchemas(FileInfo? file)
    {
        var registry = new SchemaRegistry();
        if (file is null)
        {
            return registry;
        }

        var text = UserInput.ReadFile(file.FullName, File.ReadAllText, e => new HazelcastCodecException($"cannot read the schema file {file.FullName}: {e.Message}"));

        foreach (var schema in SchemaJson.Parse(text, file.FullName))
        {
            registry.Register(schema);
        }

        return registry;
    }

    internal static byte[] ParseHex(string text)
    {
        var cleaned = new string(text.Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (cleaned.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            cleaned = cleaned[2..];
        }

        if (cleaned.Length % 2 != 0)
        {
            throw new HazelcastCodecException($"bad hex: odd number of digits ({cleaned.Length})");
        }

        int bad = cleaned.AsSpan().IndexOfAnyExcept("0123456789abcdefABCDEF");
        if (bad >= 0)
        {
            throw new HazelcastCodecException($"bad hex: '{cleaned[bad]}' at position {bad} is not a hex digit");
        }

        return Convert.FromHexString(cleaned);
    }
}

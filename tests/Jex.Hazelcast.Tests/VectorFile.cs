using System.Text.Json;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Json;

namespace Jex.Hazelcast.Tests;

/// <summary>
/// The vectors hazelcast-client 5.7.0 generates (tests/interop/hazelcast-node/run.sh, or
/// <c>node gen-vectors.js out/vectors.json</c> there). Regenerated on every test run by
/// ./demo.sh test, so a stale copy cannot hide a mismatch.
/// </summary>
public sealed class VectorFile
{
    public const string EnvironmentVariable = "JEX_HAZELCAST_VECTORS";

    private static readonly Lazy<VectorFile> Instance = new(Load);

    private VectorFile(string path, JsonDocument document)
    {
        Path = path;
        Document = document;
        Schemas = SchemaJson.Parse(document.RootElement.GetProperty("schemas"), path);
        Registry = new SchemaRegistry();
        foreach (var s in Schemas)
        {
            Registry.Register(s);
        }

        Vectors = document.RootElement.GetProperty("vectors").EnumerateArray().Select(v => new Vector(
            v.GetProperty("name").GetString()!,
            v.GetProperty("kind").GetString()!,
            v.GetProperty("value").Clone(),
            Convert.FromHexString(v.GetProperty("hex").GetString()!),
            v.TryGetProperty("decodeOnly", out var d) && d.GetBoolean())).ToList();
    }

    public string Path { get; }

    public JsonDocument Document { get; }

    internal IReadOnlyList<Schema> Schemas { get; }

    internal SchemaRegistry Registry { get; }

    public IReadOnlyList<Vector> Vectors { get; }

    public static VectorFile Current => Instance.Value;

    public static string DefaultPath()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Jex.sln")))
        {
            dir = dir.Parent;
        }

        return dir is null
            ? "tests/interop/hazelcast-node/out/vectors.json"
            : System.IO.Path.Combine(dir.FullName, "tests", "interop", "hazelcast-node", "out", "vectors.json");
    }

    private static VectorFile Load()
    {
        string path = DefaultPath();
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Hazelcast test vectors not found at {path}. Generate them with tests/interop/hazelcast-node/run.sh " +
                $"(or: cd tests/interop/hazelcast-node && npm install --no-audit --no-fund && node gen-vectors.js out/vectors.json), " +
                $"or point {EnvironmentVariable} at a vectors file.", path);
        }

        return new VectorFile(path, JsonDocument.Parse(File.ReadAllText(path)));
    }

    public static IEnumerable<object[]> Names() => Current.Vectors.Select(v => new object[] { v.Name });

    public Vector Get(string name) => Vectors.Single(v => v.Name == name);

    public sealed record Vector(string Name, string Kind, JsonElement Value, byte[] Bytes, bool DecodeOnly)
    {
        public override string ToString() => Name;
    }
}

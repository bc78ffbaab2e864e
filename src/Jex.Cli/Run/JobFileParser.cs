using System.Runtime.InteropServices;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Jex.Cli.Run;

/// <summary>
/// Reads the JEX job schema (job.name, resources, pipeline of map-journal source, user-code
/// transform and map sink). Every key is checked: an unknown or unsupported key or value is an
/// error naming the file, the line and the key path, so a typo never silently changes a job.
/// </summary>
/// <remarks>
/// Substitution, in this order, on scalar values only (so line numbers stay true):
/// <c>$VAR</c>/<c>${VAR}</c>/<c>${VAR:-default}</c> from the command line, then the environment
/// (<c>$$</c> is a literal <c>$</c>; an unknown variable with no default is an error); then, in runtime paths and arguments,
/// <c>{PLATFORM}</c>, <c>{UID}</c> and <c>{@resource-id}</c> (the resource's resolved path).
/// Relative paths are relative to the job file's directory.
/// </remarks>
internal sealed partial class JobFileParser
{
    private static readonly string[] JobKeys = ["name", "resources", "pipeline"];
    private static readonly string[] ResourceKeys = ["id", "type", "path", "platform"];
    private static readonly string[] SourceKeys = ["source", "map-name", "journal-initial-position", "timestamp", "name"];
    private static readonly string[] SinkKeys = ["sink", "map-name", "name"];
    private static readonly string[] TransformKeys =
    [
        "transform", "name", "runtime", "function", "parallel-processors", "parallel-operations", "preserve-order",
        "format", "batch-max-items", "batch-max-bytes", "deadline-ms", "settings", "schemas", "type-name",
        "ordering", "max-concurrency",
    ];
    private static readonly string[] RuntimeKeys = ["service", "transport", "user-code", "ready-timeout-seconds"];
    private static readonly string[] Formats = ["json", "text", "compact"];
    private static readonly string[] JournalPositions = ["START_FROM_OLDEST", "START_FROM_CURRENT"];

    private readonly string _file;
    private readonly string _baseDirectory;
    private readonly IReadOnlyDictionary<string, string> _variables;
    private readonly Func<string, string?> _environment;
    private readonly string _platform;
    private readonly string _uid;
    private readonly Dictionary<string, JobResource> _resources = new(StringComparer.Ordinal);

    /// <param name="file">The job file path, used in messages and to resolve relative paths.</param>
    /// <param name="variables">VAR=value pairs from the command line; they win over the environment.</param>
    /// <param name="environment">Environment lookup; null for none (tests).</param>
    /// <param name="uid">{UID}; a fresh one when null.</param>
    /// <param name="platform">{PLATFORM}; this machine's (e.g. linux-x64) when null.</param>
    public JobFileParser(string file, IReadOnlyDictionary<string, string> variables, Func<string, string?>? environment = null, string? uid = null, string? platform = null)
    {
        _file = file;
        _baseDirectory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? Directory.GetCurrentDirectory();
        _variables = variables;
        _environment = environment ?? (_ => null);
        _uid = uid ?? Guid.NewGuid().ToString("N")[..12];
        _platform = platform ?? CurrentPlatform();
    }

    /// <summary>This machine's platform name as JEX used it: linux-x64, osx-arm64, win-x64.</summary>
    public static string CurrentPlatform()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return os + "-" + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
    }

    public static JobDefinition ParseFile(string file, IReadOnlyDictionary<string, string> variables)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new JobFileException(file, $"cannot read the job file: {ex.Message}");
        }

        return new JobFileParser(file, variables, Environment.GetEnvironmentVariable).Parse(text);
    }

    public JobDefinition Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new JobFileException(_file, ex.Start.Line, "(yaml)", "syntax error: " + (ex.InnerException?.Message ?? ex.Message));
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new JobFileException(_file, "expected one YAML document with a top-level 'job:' mapping");
        }

        CheckKeys(root, "", ["job"]);
        var job = AsMap(Require(root, "job", ""), "job");
        CheckKeys(job, "job", JobKeys);
        var name = Scalar(Require(job, "name", "job"), "job.name");

        if (Get(job, "resources") is { } resources)
        {
            ParseResources(resources);
        }

        var stages = FlattenPipeline(Require(job, "pipeline", "job"));
        SourceStage? source = null;
        TransformStage? transform = null;
        SinkStage? sink = null;
        foreach (var (stage, path) in stages)
        {
            var kinds = new[] { "source", "transform", "sink" }.Where(k => Get(stage, k) is not null).ToList();
            if (kinds.Count != 1)
            {
                throw Error(stage, path, kinds.Count == 0
                    ? $"a stage needs exactly one of 'source', 'transform' or 'sink' (found: {string.Join(", ", stage.Children.Keys.Select(k => ((YamlScalarNode)k).Value))})"
                    : $"a stage has one of 'source', 'transform' or 'sink', not {string.Join(" and ", kinds)}");
            }

            switch (kinds[0])
            {
                case "source":
                    if (source is not null)
                    {
                        throw Error(stage, path + ".source", "only one source stage is supported");
                    }

                    source = ParseSource(stage, path);
                    break;
                case "transform":
                    if (transform is not null)
                    {
                        throw Error(stage, path + ".transform", "only one transform stage is supported");
                    }

                    transform = ParseTransform(stage, path);
                    break;
                default:
                    if (sink is not null)
                    {
                        throw Error(stage, path + ".sink", "only one sink stage is supported");
                    }

                    sink = ParseSink(stage, path);
                    break;
            }
        }

        var pipelineNode = Require(job, "pipeline", "job");
        return new JobDefinition
        {
            Name = name,
            FilePath = _file,
            Resources = [.. _resources.Values],
            Source = source ?? throw Error(pipelineNode, "job.pipeline", "the pipeline has no source stage (expected 'source: map-journal')"),
            Transform = transform ?? throw Error(pipelineNode, "job.pipeline", "the pipeline has no transform stage (expected 'transform: user-code')"),
            Sink = sink ?? throw Error(pipelineNode, "job.pipeline", "the pipeline has no sink stage (expected 'sink: map')"),
            Uid = _uid,
        };
    }

    private void ParseResources(YamlNode node)
    {
        var list = AsSequence(node, "job.resources");
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"job.resources[{i}]";
            var map = AsMap(list.Children[i], path);
            CheckKeys(map, path, ResourceKeys);
            var id = Scalar(Require(map, "id", path), path + ".id");
            var typeNode = Require(map, "type", path);
            var type = Scalar(typeNode, path + ".type").ToUpperInvariant();
            if (type is not ("DIRECTORY" or "FILE"))
            {
                throw Error(typeNode, path + ".type", $"unsupported resource type '{type}' (supported: DIRECTORY, FILE)");
            }

            var location = ResolvePath(Scalar(Require(map, "path", path), path + ".path"));
            var platform = Get(map, "platform") is { } p ? Scalar(p, path + ".platform") : null;
            if (!_resources.TryAdd(id, new JobResource(id, type, location, platform)))
            {
                throw Error(map, path + ".id", $"duplicate resource id '{id}'");
            }
        }
    }

    // JEX nests stages as job.pipeline: [ { pipeline: [stage, ...] } ]; a flat list of stages is
    // accepted too.
    private List<(YamlMappingNode Stage, string Path)> FlattenPipeline(YamlNode node)
    {
        var result = new List<(YamlMappingNode, string)>();
        var list = AsSequence(node, "job.pipeline");
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"job.pipeline[{i}]";
            var map = AsMap(list.Children[i], path);
            if (Get(map, "pipeline") is { } inner)
            {
                CheckKeys(map, path, ["pipeline"]);
                if (result.Count > 0)
                {
                    throw Error(map, path, "only one pipeline per job is supported");
                }

                var stages = AsSequence(inner, path + ".pipeline");
                for (var j = 0; j < stages.Children.Count; j++)
                {
                    result.Add((AsMap(stages.Children[j], $"{path}.pipeline[{j}]"), $"{path}.pipeline[{j}]"));
                }
            }
            else
            {
                result.Add((map, path));
            }
        }

        return result;
    }

    private SourceStage ParseSource(YamlMappingNode stage, string path)
    {
        CheckStage(stage, path, "source", "map-journal", SourceKeys);
        var mapName = Scalar(Require(stage, "map-name", path), path + ".map-name");
        var position = Choice(stage, "journal-initial-position", path, JournalPositions, "value");

        if (Get(stage, "timestamp") is { } timestampNode && Scalar(timestampNode, path + ".timestamp") != "INGESTION")
        {
            throw Error(timestampNode, path + ".timestamp", "unsupported value (supported: INGESTION)");
        }

        return new SourceStage(mapName, position, Line(stage));
    }

    private SinkStage ParseSink(YamlMappingNode stage, string path)
    {
        CheckStage(stage, path, "sink", "map", SinkKeys);
        return new SinkStage(Scalar(Require(stage, "map-name", path), path + ".map-name"), Line(stage));
    }

}

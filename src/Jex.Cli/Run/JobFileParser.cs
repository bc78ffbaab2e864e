using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Jex.Protocol.Contract;
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
        "format", "batch-max-items", "batch-max-bytes", "deadline-ms", "settings",
    ];
    private static readonly string[] RuntimeKeys = ["service", "transport", "user-code", "ready-timeout-seconds"];
    private static readonly string[] Formats = ["json", "text"];

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
        var kindNode = Require(stage, "source", path);
        var kind = Scalar(kindNode, path + ".source");
        if (kind != "map-journal")
        {
            throw Error(kindNode, path + ".source", $"unsupported source '{kind}' (supported: map-journal)");
        }

        CheckKeys(stage, path, SourceKeys);
        var mapName = Scalar(Require(stage, "map-name", path), path + ".map-name");
        var position = "START_FROM_OLDEST";
        if (Get(stage, "journal-initial-position") is { } positionNode)
        {
            position = Scalar(positionNode, path + ".journal-initial-position");
            if (position is not ("START_FROM_OLDEST" or "START_FROM_CURRENT"))
            {
                throw Error(positionNode, path + ".journal-initial-position", $"unsupported value '{position}' (supported: START_FROM_OLDEST, START_FROM_CURRENT)");
            }
        }

        if (Get(stage, "timestamp") is { } timestampNode && Scalar(timestampNode, path + ".timestamp") != "INGESTION")
        {
            throw Error(timestampNode, path + ".timestamp", "unsupported value (supported: INGESTION)");
        }

        return new SourceStage(mapName, position, Line(stage));
    }

    private SinkStage ParseSink(YamlMappingNode stage, string path)
    {
        var kindNode = Require(stage, "sink", path);
        var kind = Scalar(kindNode, path + ".sink");
        if (kind != "map")
        {
            throw Error(kindNode, path + ".sink", $"unsupported sink '{kind}' (supported: map)");
        }

        CheckKeys(stage, path, SinkKeys);
        return new SinkStage(Scalar(Require(stage, "map-name", path), path + ".map-name"), Line(stage));
    }

    private TransformStage ParseTransform(YamlMappingNode stage, string path)
    {
        var kindNode = Require(stage, "transform", path);
        var kind = Scalar(kindNode, path + ".transform");
        if (kind != "user-code")
        {
            throw Error(kindNode, path + ".transform", $"unsupported transform '{kind}' (supported: user-code)");
        }

        CheckKeys(stage, path, TransformKeys);
        var function = Scalar(Require(stage, "function", path), path + ".function");
        if (function.Length == 0)
        {
            throw Error(stage, path + ".function", "the function name is empty");
        }

        var runtimePath = path + ".runtime";
        var runtime = AsMap(Require(stage, "runtime", path), runtimePath);
        CheckKeys(runtime, runtimePath, RuntimeKeys);
        var transport = ParseTransport(Get(runtime, "transport"), runtimePath + ".transport", runtime);
        var service = ParseService(Require(runtime, "service", runtimePath), runtimePath + ".service");
        if (service.Kind == ServiceKind.Passthru && transport.Kind == TransportKind.Grpc && transport.Port == 0 && transport.Socket is null)
        {
            throw Error(runtime, runtimePath + ".transport", "passthru over gRPC needs 'grpc: { port: N }' (or 'socket: PATH') to know where the runtime listens");
        }

        string? userCode = null;
        if (Get(runtime, "user-code") is { } userCodeNode)
        {
            userCode = ResolvePath(Placeholders(Scalar(userCodeNode, runtimePath + ".user-code"), userCodeNode, runtimePath + ".user-code"));
        }
        else if (service.Kind == ServiceKind.Process)
        {
            throw Error(runtime, runtimePath + ".user-code", "process mode needs 'user-code: PATH' (the .dll or directory of the user functions)");
        }

        var format = "json";
        if (Get(stage, "format") is { } formatNode)
        {
            format = Scalar(formatNode, path + ".format");
            if (!Formats.Contains(format))
            {
                throw Error(formatNode, path + ".format", $"unsupported format '{format}' (supported: {string.Join(", ", Formats)})");
            }
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Get(stage, "settings") is { } settingsNode)
        {
            foreach (var (k, v) in AsMap(settingsNode, path + ".settings").Children)
            {
                var key = ((YamlScalarNode)k).Value ?? "";
                settings[key] = Scalar(v, $"{path}.settings.{key}");
            }
        }

        return new TransformStage
        {
            Name = Get(stage, "name") is { } n ? Scalar(n, path + ".name") : "transform",
            Function = function,
            Service = service,
            Transport = transport,
            UserCodePath = userCode,
            ParallelProcessors = Int(stage, "parallel-processors", path, 1, 1, 64),
            ParallelOperations = Int(stage, "parallel-operations", path, 1, 1, 1024),
            PreserveOrder = Bool(stage, "preserve-order", path, true),
            Format = format,
            BatchMaxItems = Int(stage, "batch-max-items", path, 512, 1, 1_000_000),
            BatchMaxBytes = Int(stage, "batch-max-bytes", path, 1024 * 1024, 1024, 256 * 1024 * 1024),
            DeadlineMs = (uint)Int(stage, "deadline-ms", path, 0, 0, int.MaxValue),
            ReadyTimeout = TimeSpan.FromSeconds(Int(runtime, "ready-timeout-seconds", runtimePath, 30, 1, 3600)),
            Settings = settings,
            Line = Line(stage),
        };
    }

    private TransportSpec ParseTransport(YamlNode? node, string path, YamlNode parent)
    {
        if (node is null)
        {
            return new TransportSpec(TransportKind.Grpc, 0, null);
        }

        string kind;
        YamlMappingNode? options = null;
        if (node is YamlScalarNode)
        {
            kind = Scalar(node, path);
        }
        else
        {
            var map = AsMap(node, path);
            if (map.Children.Count != 1)
            {
                throw Error(node, path, "expected exactly one transport: 'grpc' or 'shared-memory'");
            }

            var (key, value) = map.Children.First();
            kind = ((YamlScalarNode)key).Value ?? "";
            if (value is YamlMappingNode m)
            {
                options = m;
            }
            else if (value is not YamlScalarNode { Value: null or "" })
            {
                throw Error(value, $"{path}.{kind}", "expected a mapping of transport options");
            }
        }

        switch (kind)
        {
            case TransportKinds.GrpcName:
                if (options is null)
                {
                    return new TransportSpec(TransportKind.Grpc, 0, null);
                }

                CheckKeys(options, path + ".grpc", ["port", "socket"]);
                var port = Int(options, "port", path + ".grpc", 0, 0, 65535);
                var socket = Get(options, "socket") is { } s ? ResolvePath(Placeholders(Scalar(s, path + ".grpc.socket"), s, path + ".grpc.socket")) : null;
                if (socket is not null && port != 0)
                {
                    throw Error(options, path + ".grpc", "give 'port' or 'socket', not both");
                }

                return new TransportSpec(TransportKind.Grpc, port, socket);
            case TransportKinds.SharedMemoryName:
                if (options is not null)
                {
                    CheckKeys(options, path + ".shared-memory", []);
                }

                return new TransportSpec(TransportKind.SharedMemory, 0, null);
            default:
                throw Error(node is YamlScalarNode ? node : parent, path, $"unsupported transport '{kind}' (supported: {string.Join(", ", TransportKinds.Names)})");
        }
    }

    private ServiceSpec ParseService(YamlNode node, string path)
    {
        if (node is YamlScalarNode)
        {
            var name = Scalar(node, path);
            return name == "passthru"
                ? new ServiceSpec(ServiceKind.Passthru, null, [], null, null)
                : throw Error(node, path, name is "process" or "container"
                    ? $"'{name}' needs options, e.g. '{name}: {{ {(name == "process" ? "path: ..., name: ..." : "image: ...")} }}'"
                    : $"unsupported service '{name}' (supported: process, container, passthru)");
        }

        var map = AsMap(node, path);
        if (map.Children.Count != 1)
        {
            throw Error(node, path, "expected exactly one service: 'process', 'container' or 'passthru'");
        }

        var (key, value) = map.Children.First();
        var kind = ((YamlScalarNode)key).Value ?? "";
        var optionsPath = $"{path}.{kind}";
        switch (kind)
        {
            case "process":
            {
                var options = AsMap(value, optionsPath);
                CheckKeys(options, optionsPath, ["path", "name", "args"]);
                var pathNode = Require(options, "path", optionsPath);
                var directory = ResolvePath(Placeholders(Scalar(pathNode, optionsPath + ".path"), pathNode, optionsPath + ".path"));
                var executable = Get(options, "name") is { } nameNode
                    ? Path.Combine(directory, Placeholders(Scalar(nameNode, optionsPath + ".name"), nameNode, optionsPath + ".name"))
                    : directory;
                return new ServiceSpec(ServiceKind.Process, executable, Arguments(options, optionsPath), null, null);
            }

            case "container":
            {
                var options = AsMap(value, optionsPath);
                CheckKeys(options, optionsPath, ["image", "args", "memory", "pids-limit"]);
                var image = Scalar(Require(options, "image", optionsPath), optionsPath + ".image");
                return new ServiceSpec(ServiceKind.Container, null, Arguments(options, optionsPath), image, null)
                {
                    Memory = Get(options, "memory") is { } memoryNode ? MemorySize(memoryNode, optionsPath + ".memory") : null,
                    PidsLimit = Get(options, "pids-limit") is not null ? Int(options, "pids-limit", optionsPath, 0, 32, 1_000_000) : null,
                };
            }

            case "passthru":
            {
                string? address = null;
                if (value is YamlMappingNode options)
                {
                    CheckKeys(options, optionsPath, ["address"]);
                    address = Get(options, "address") is { } a ? Scalar(a, optionsPath + ".address") : null;
                }

                return new ServiceSpec(ServiceKind.Passthru, null, [], null, address);
            }

            default:
                throw Error(key, path, $"unsupported service '{kind}' (supported: process, container, passthru)");
        }
    }

    private List<string> Arguments(YamlMappingNode options, string path)
    {
        if (Get(options, "args") is not { } argsNode)
        {
            return [];
        }

        var list = AsSequence(argsNode, path + ".args");
        return [.. list.Children.Select((a, i) => Placeholders(Scalar(a, $"{path}.args[{i}]"), a, $"{path}.args[{i}]"))];
    }

    /// <summary>A container memory limit as docker takes it (<c>512m</c>, <c>2g</c>), at least 64 MiB: .NET needs that much to start.</summary>
    private string MemorySize(YamlNode node, string path)
    {
        var text = Scalar(node, path).Trim().ToLowerInvariant();
        var digits = text.Length > 0 && "bkmg".Contains(text[^1], StringComparison.Ordinal) ? text[..^1] : text;
        long multiplier = text.Length == digits.Length ? 1 : text[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number > long.MaxValue / multiplier || number * multiplier < 64L << 20)
        {
            throw Error(node, path, $"expected a memory size of at least 64m, as docker --memory takes it (e.g. 512m, 2g), got '{text}'");
        }

        return text;
    }

    private int Int(YamlMappingNode map, string key, string path, int fallback, int min, int max)
    {
        if (Get(map, key) is not { } node)
        {
            return fallback;
        }

        var text = Scalar(node, $"{path}.{key}");
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw Error(node, $"{path}.{key}", $"expected a whole number from {min} to {max}, got '{text}'");
        }

        return value;
    }

    private bool Bool(YamlMappingNode map, string key, string path, bool fallback)
    {
        if (Get(map, key) is not { } node)
        {
            return fallback;
        }

        return Scalar(node, $"{path}.{key}").ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            var other => throw Error(node, $"{path}.{key}", $"expected true or false, got '{other}'"),
        };
    }

    private string Scalar(YamlNode node, string path)
    {
        if (node is not YamlScalarNode scalar)
        {
            throw Error(node, path, "expected a single value");
        }

        return Substitute(scalar.Value ?? "", node, path);
    }

    private string Substitute(string raw, YamlNode node, string path)
    {
        if (!raw.Contains('$', StringComparison.Ordinal))
        {
            return raw;
        }

        var result = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '$')
            {
                result.Append(raw[i]);
                continue;
            }

            if (i + 1 < raw.Length && raw[i + 1] == '$')
            {
                result.Append('$');
                i++;
                continue;
            }

            string name;
            if (i + 1 < raw.Length && raw[i + 1] == '{')
            {
                var close = raw.IndexOf('}', i + 2);
                if (close < 0)
                {
                    throw Error(node, path, $"unterminated '${{' in '{raw}'");
                }

                name = raw[(i + 2)..close];
                i = close;
                var dash = name.IndexOf(":-", StringComparison.Ordinal);
                if (dash >= 0)
                {
                    // ${VAR:-default}, as in the shell: lets a job run with no arguments.
                    var fallback = name[(dash + 2)..];
                    name = name[..dash];
                    result.Append(_variables.TryGetValue(name, out var given) ? given : _environment(name) ?? fallback);
                    continue;
                }
            }
            else
            {
                var end = i + 1;
                while (end < raw.Length && (char.IsAsciiLetterOrDigit(raw[end]) || raw[end] == '_'))
                {
                    end++;
                }

                name = raw[(i + 1)..end];
                i = end - 1;
            }

            if (name.Length == 0)
            {
                throw Error(node, path, $"a '$' with no variable name in '{raw}' (write $$ for a literal $)");
            }

            var value = _variables.TryGetValue(name, out var v) ? v : _environment(name);
            result.Append(value ?? throw Error(node, path, $"unknown variable ${name} (give it on the command line: jex run JOB.yml {name}=VALUE)"));
        }

        return result.ToString();
    }

    private string Placeholders(string value, YamlNode node, string path)
    {
        var text = value.Replace("{PLATFORM}", _platform, StringComparison.Ordinal).Replace("{UID}", _uid, StringComparison.Ordinal);
        return ResourceReference().Replace(text, match =>
        {
            var id = match.Groups[1].Value;
            return _resources.TryGetValue(id, out var resource)
                ? resource.Path
                : throw Error(node, path, $"unknown resource '@{id}' (defined: {(_resources.Count == 0 ? "none" : string.Join(", ", _resources.Keys))})");
        });
    }

    private string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(_baseDirectory, path));

    private void CheckKeys(YamlMappingNode map, string path, string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!allowed.Contains(name))
            {
                var where = path.Length == 0 ? name : $"{path}.{name}";
                throw Error(key, where, allowed.Length == 0
                    ? "unsupported key (this mapping takes no keys)"
                    : $"unsupported key '{name}' (supported here: {string.Join(", ", allowed)})");
            }
        }
    }

    private static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private YamlNode Require(YamlMappingNode map, string key, string path) =>
        Get(map, key) ?? throw Error(map, path.Length == 0 ? key : $"{path}.{key}", "required key is missing");

    private YamlMappingNode AsMap(YamlNode node, string path) =>
        node as YamlMappingNode ?? throw Error(node, path, "expected a mapping (key: value lines)");

    private YamlSequenceNode AsSequence(YamlNode node, string path) =>
        node as YamlSequenceNode ?? throw Error(node, path, "expected a list ('- ' items)");

    private static int Line(YamlNode node) => (int)node.Start.Line;

    private JobFileException Error(YamlNode node, string path, string message) => new(_file, node.Start.Line, path, message);

    [GeneratedRegex(@"\{@([A-Za-z0-9_.\-]+)\}")]
    private static partial Regex ResourceReference();
}

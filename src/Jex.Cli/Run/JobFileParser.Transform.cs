using System.Globalization;
using Jex.Protocol.Contract;
using YamlDotNet.RepresentationModel;

namespace Jex.Cli.Run;

/// <summary>The transform stage of a job file: function, format, settings and its runtime section.</summary>
internal sealed partial class JobFileParser
{
    private TransformStage ParseTransform(YamlMappingNode stage, string path)
    {
        CheckStage(stage, path, "transform", "user-code", TransformKeys);
        var function = Scalar(Require(stage, "function", path), path + ".function");
        if (function.Length == 0)
        {
            throw Error(stage, path + ".function", "the function name is empty");
        }

        var runtimePath = path + ".runtime";
        // With no runtime section (or no service in it) the job runs on the jex-runtime that ships
        // with jex, forked over gRPC: all a function author's job file has to name is user-code.
        var runtime = Get(stage, "runtime") is { } runtimeNode ? AsMap(runtimeNode, runtimePath) : new YamlMappingNode();
        CheckKeys(runtime, runtimePath, RuntimeKeys);
        var transport = ParseTransport(Get(runtime, "transport"), runtimePath + ".transport", runtime);
        var service = Get(runtime, "service") is { } serviceNode
            ? ParseService(serviceNode, runtimePath + ".service")
            : new ServiceSpec(ServiceKind.Process, null, [], null, null);
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
            throw Error(runtime.Children.Count == 0 ? stage : runtime, runtimePath + ".user-code",
                "process mode needs 'user-code: PATH' (a .csproj to build, or the .dll or folder of the built functions)");
        }

        var format = Choice(stage, "format", path, Formats, "format");
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
            Compact = ParseCompact(stage, path, format),
            BatchMaxItems = Int(stage, "batch-max-items", path, 512, 1, 1_000_000),
            BatchMaxBytes = Int(stage, "batch-max-bytes", path, 1024 * 1024, 1024, 256 * 1024 * 1024),
            DeadlineMs = (uint)Int(stage, "deadline-ms", path, 0, 0, int.MaxValue),
            ReadyTimeout = TimeSpan.FromSeconds(Int(runtime, "ready-timeout-seconds", runtimePath, 30, 1, 3600)),
            Settings = settings,
            Ordering = ParseOrdering(stage, path, out var maxConcurrency),
            MaxConcurrency = maxConcurrency,
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
                if (options is null)
                {
                    return new TransportSpec(TransportKind.SharedMemory, 0, null);
                }

                CheckKeys(options, path + ".shared-memory", ["wait"]);
                return new TransportSpec(TransportKind.SharedMemory, 0, null, ParseWait(options, path + ".shared-memory.wait"));
            default:
                throw Error(node is YamlScalarNode ? node : parent, path, $"unsupported transport '{kind}' (supported: {string.Join(", ", TransportKinds.Names)})");
        }
    }

    /// <summary>shared-memory's <c>wait: adaptive|spin|block</c>; null when absent.</summary>
    private Jex.Transport.SharedMemory.WaitMode? ParseWait(YamlMappingNode options, string path)
    {
        if (Get(options, "wait") is not { } node)
        {
            return null;
        }

        var text = Scalar(node, path);
        if (!Jex.Transport.SharedMemory.WaitModes.TryParse(text, out var mode))
        {
            throw Error(node, path, $"unknown wait mode '{text}' (expected one of: {string.Join(", ", Jex.Transport.SharedMemory.WaitModes.Names)})");
        }

        return mode;
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
}

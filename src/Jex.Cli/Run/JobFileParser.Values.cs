using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Jex.Cli.Run;

/// <summary>
/// Reading values out of the YAML tree: typed scalars with their ranges, $VAR substitution, the
/// {PLATFORM}/{UID}/{@resource} placeholders, relative paths, and errors that name file, line and key.
/// </summary>
internal sealed partial class JobFileParser
{
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

    /// <summary>
    /// An optional key that takes one of a few words; absent, the first word. <paramref name="noun"/>
    /// names what was wrong in the error ("unsupported format 'avro'").
    /// </summary>
    private string Choice(YamlMappingNode map, string key, string path, string[] choices, string noun)
    {
        if (Get(map, key) is not { } node)
        {
            return choices[0];
        }

        var value = Scalar(node, $"{path}.{key}");
        return choices.Contains(value, StringComparer.Ordinal)
            ? value
            : throw Error(node, $"{path}.{key}", $"unsupported {noun} '{value}' (supported: {string.Join(", ", choices)})");
    }

    /// <summary>
    /// A pipeline stage's kind key (source, transform or sink) with the one kind jex runs for it,
    /// then the stage's other keys against <paramref name="allowed"/>.
    /// </summary>
    private void CheckStage(YamlMappingNode stage, string path, string kindKey, string supported, string[] allowed)
    {
        var node = Require(stage, kindKey, path);
        var kind = Scalar(node, $"{path}.{kindKey}");
        if (kind != supported)
        {
            throw Error(node, $"{path}.{kindKey}", $"unsupported {kindKey} '{kind}' (supported: {supported})");
        }

        CheckKeys(stage, path, allowed);
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

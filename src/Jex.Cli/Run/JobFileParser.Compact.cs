using Jex.Cli.Data;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using YamlDotNet.RepresentationModel;

namespace Jex.Cli.Run;

/// <summary>The transform's <c>format: compact</c> keys: <c>schemas: FILE</c> and <c>type-name: NAME</c>.</summary>
internal sealed partial class JobFileParser
{
    /// <summary>Reads the schema file now, so a wrong one stops the job (exit 2) before any runtime starts.</summary>
    /// <returns>Null for the other formats, which take neither key.</returns>
    private CompactSpec? ParseCompact(YamlMappingNode stage, string path, string format)
    {
        var schemasNode = Get(stage, "schemas");
        var typeNameNode = Get(stage, "type-name");
        if (format != "compact")
        {
            if ((schemasNode ?? typeNameNode) is { } stray)
            {
                var key = schemasNode is not null ? "schemas" : "type-name";
                throw Error(stray, $"{path}.{key}", $"'{key}' is only for 'format: compact' (this transform's format is {format}); drop it or set the format");
            }

            return null;
        }

        if (schemasNode is null)
        {
            throw Error(stage, path + ".schemas",
                "format: compact needs 'schemas: FILE', a JSON array of Compact schemas as 'jex data --schemas' reads ([{\"typeName\": \"...\", \"fields\": [{\"name\": \"...\", \"kind\": \"INT32\"}]}])");
        }

        var file = ResolvePath(Placeholders(Scalar(schemasNode, path + ".schemas"), schemasNode, path + ".schemas"));
        if (!File.Exists(file))
        {
            throw Error(schemasNode, path + ".schemas", $"the schema file {file} does not exist; fix the path (relative paths are relative to the job file's folder)");
        }

        Schema[] schemas;
        try
        {
            schemas = [.. DataCommand.LoadSchemas(new FileInfo(file)).Schemas];
        }
        catch (HazelcastCodecException ex)
        {
            throw Error(schemasNode, path + ".schemas", $"{ex.Message}; fix the schema file");
        }

        if (schemas.Length == 0)
        {
            throw Error(schemasNode, path + ".schemas", $"the schema file {file} holds no schema; add the input type's");
        }

        var names = string.Join(", ", schemas.Select(s => s.TypeName).Distinct().Order(StringComparer.Ordinal));
        string typeName;
        if (typeNameNode is not null)
        {
            typeName = Scalar(typeNameNode, path + ".type-name");
            if (!schemas.Any(s => s.TypeName == typeName))
            {
                throw Error(typeNameNode, path + ".type-name", $"no schema for type '{typeName}' in {file} (it has: {names}); name one of those or add its schema");
            }
        }
        else if (schemas.Select(s => s.TypeName).Distinct().Count() == 1)
        {
            typeName = schemas[0].TypeName;
        }
        else
        {
            throw Error(stage, path + ".type-name", $"{file} has more than one schema ({names}); say which the input values are with 'type-name: NAME'");
        }

        return new CompactSpec(file, schemas, typeName);
    }
}

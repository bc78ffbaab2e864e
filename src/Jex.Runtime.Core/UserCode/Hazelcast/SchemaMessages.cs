using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>Compact schemas to and from the protocol's <see cref="CompactSchema"/>.</summary>
internal static class SchemaMessages
{
    public static CompactSchema ToProto(Schema schema)
    {
        var proto = new CompactSchema { Id = schema.Id, TypeName = schema.TypeName };
        foreach (var f in schema.Fields)
        {
            proto.Fields.Add(new CompactField { Name = f.Name, Kind = (int)f.Kind });
        }

        return proto;
    }

    /// <summary>
    /// Builds the schema and checks the announced id against the recomputed fingerprint; throws
    /// <see cref="HazelcastCodecException"/> naming the type and the problem.
    /// </summary>
    public static Schema FromProto(CompactSchema proto)
    {
        if (string.IsNullOrEmpty(proto.TypeName))
        {
            throw new HazelcastCodecException($"schema id {proto.Id} has no type name");
        }

        var fields = new List<FieldDescriptor>(proto.Fields.Count);
        foreach (var f in proto.Fields)
        {
            if (string.IsNullOrEmpty(f.Name))
            {
                throw new HazelcastCodecException($"schema '{proto.TypeName}' (id {proto.Id}) has a field with no name");
            }

            if (!FieldKinds.IsDefined((FieldKind)f.Kind))
            {
                throw new HazelcastCodecException($"schema '{proto.TypeName}' (id {proto.Id}): field '{f.Name}' has unknown kind {f.Kind}");
            }

            fields.Add(new FieldDescriptor(f.Name, (FieldKind)f.Kind));
        }

        Schema schema;
        try
        {
            schema = new Schema(proto.TypeName, fields);
        }
        catch (ArgumentException e)
        {
            throw new HazelcastCodecException($"schema '{proto.TypeName}' (id {proto.Id}): {e.Message}", e);
        }

        if (schema.Id != proto.Id)
        {
            throw new HazelcastCodecException(
                $"schema '{proto.TypeName}' was announced with id {proto.Id}, but its type name and fields give id {schema.Id}");
        }

        return schema;
    }
}

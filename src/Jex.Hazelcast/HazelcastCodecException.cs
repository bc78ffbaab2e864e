namespace Jex.Hazelcast;

/// <summary>
/// Bytes that are not valid Hazelcast data, or a value that cannot be written in the requested
/// form. The message names the problem (type id, field, offset); it is the only exception the
/// codec lets escape for bad input.
/// </summary>
internal class HazelcastCodecException : Exception
{
    public HazelcastCodecException(string message)
        : base(message)
    {
    }

    public HazelcastCodecException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A Compact value refers to a schema id that no schema source announced.</summary>
internal sealed class UnknownSchemaException : HazelcastCodecException
{
    public UnknownSchemaException(long schemaId)
        : base($"unknown Compact schema id {schemaId}: no Schemas message or schema file announced it")
    {
        SchemaId = schemaId;
    }

    public long SchemaId { get; }
}

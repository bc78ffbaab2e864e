namespace Jex.Testing;

/// <summary>How a key or a value is encoded, as on the wire between a member and jex-runtime.</summary>
public enum JexFormat
{
    /// <summary>Opaque bytes.</summary>
    Bytes = 1,

    /// <summary>UTF-8 text.</summary>
    Text = 2,

    /// <summary>UTF-8 JSON; POCOs bind with System.Text.Json's web defaults (camelCase out, case-insensitive in).</summary>
    Json = 3,

    /// <summary>Hazelcast <c>Data</c>: a serialized Hazelcast value, such as a Compact record or a string.</summary>
    Hazelcast = 4,
}

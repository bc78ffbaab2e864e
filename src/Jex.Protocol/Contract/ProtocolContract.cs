namespace Jex.Protocol.Contract;

/// <summary>Constants both sides of the Jex protocol agree on (docs/design.md, the protocol).</summary>
internal static class ProtocolContract
{
    /// <summary>The <c>Init.protocol_version</c> a member sends and a runtime accepts.</summary>
    public const uint Version = 1;
}

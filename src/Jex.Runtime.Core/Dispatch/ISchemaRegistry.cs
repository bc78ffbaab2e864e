using Jex.Protocol.V1;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Dispatch;

/// <summary>Implemented by the Hazelcast binding to accept the member's in-band schemas.</summary>
internal interface ISchemaRegistry
{
    /// <summary>Registers schemas for the session; throws <see cref="PayloadBindingException"/> naming a bad one.</summary>
    void Register(SessionInfo session, Schemas schemas);
}

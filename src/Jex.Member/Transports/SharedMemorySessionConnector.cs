using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.Contract;

namespace Jex.Member.Transports;

/// <summary>Opens a session on the shared-memory file the runtime named in its ready line.</summary>
internal sealed class SharedMemorySessionConnector : ISessionConnector
{
    public string Transport => TransportKinds.SharedMemoryName;

    public ValueTask<ISessionChannel> ConnectAsync(RuntimeReadyInfo ready, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<ISessionChannel>(SharedMemorySessionChannel.Open(ready.Address));
    }
}

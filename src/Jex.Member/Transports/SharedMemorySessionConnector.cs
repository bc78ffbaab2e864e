using Jex.Member.Transports.SharedMemory;
using Jex.Protocol.Contract;
using Jex.Transport.SharedMemory;

namespace Jex.Member.Transports;

/// <summary>
/// Opens a session on the shared-memory file the runtime named in its ready line; the member's
/// ring reader waits as <paramref name="wait"/> says (the runtime's UserCode:SharedMemory:Wait is its own).
/// </summary>
internal sealed class SharedMemorySessionConnector(WaitMode wait = WaitMode.Adaptive) : ISessionConnector
{
    public WaitMode Wait => wait;

    public string Transport => TransportKinds.SharedMemoryName;

    public ValueTask<ISessionChannel> ConnectAsync(RuntimeReadyInfo ready, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<ISessionChannel>(SharedMemorySessionChannel.Open(ready.Address, wait));
    }
}

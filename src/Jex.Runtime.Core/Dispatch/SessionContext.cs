using Jex.Protocol.V1;
using Jex.Runtime.Deploy;
using Jex.Runtime.UserCode;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Jex.Runtime.Dispatch;

/// <summary>
/// What every batch of a session needs, fixed when the session's Init is accepted: a batch reads
/// this instead of reaching back into the session's mutable state.
/// </summary>
internal sealed class SessionContext
{
    public required long Id { get; init; }

    public required SessionInfo Info { get; init; }

    /// <summary>The function Init named.</summary>
    public required string FunctionName { get; init; }

    /// <summary>The session's binding to the current user code, resolved again at a batch after an activation.</summary>
    public required SessionCode Code { get; init; }

    /// <summary>The function's signature in this session's formats (Ready, the session log).</summary>
    public required FunctionSignature Signature { get; init; }

    /// <summary>The runtime's own session log.</summary>
    public required ILogger Logger { get; init; }

    /// <summary>The local logger behind user code's logger; its category is <see cref="UserCategory"/>.</summary>
    public required ILogger UserLogger { get; init; }

    /// <summary>The user logger's category, made once per session rather than once per batch.</summary>
    public required string UserCategory { get; init; }

    /// <summary>User log records at or above this level go to the member (Init.log_level).</summary>
    public required MsLogLevel ForwardLevel { get; init; }

    public required SessionLimits Limits { get; init; }

    /// <summary>The largest message the session may send (UserCode:MaxMessageBytes).</summary>
    public required int MaxMessageBytes { get; init; }

    /// <summary>The in-flight permits: one per running batch, freed as its result goes to the transport.</summary>
    public required SemaphoreSlim InFlight { get; init; }

    /// <summary>The only way the session's messages leave.</summary>
    public required SessionWriter Writer { get; init; }

    /// <summary>Cancelled when the session ends.</summary>
    public required CancellationToken Token { get; init; }
}

/// <summary>The limits a session agreed to in Init and Ready: the lower of the member's and the runtime's.</summary>
internal readonly record struct SessionLimits(int MaxInFlight, int MaxBatchBytes, int MaxBatchItems);

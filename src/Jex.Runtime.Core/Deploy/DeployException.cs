using Grpc.Core;

namespace Jex.Runtime.Deploy;

/// <summary>A deploy call refused: the status the caller gets and a message naming what is at fault.</summary>
internal sealed class DeployException(StatusCode status, string message, Exception? inner = null) : Exception(message, inner)
{
    public StatusCode Status { get; } = status;
}

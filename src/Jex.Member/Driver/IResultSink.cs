using Jex.Protocol.V1;

namespace Jex.Member.Driver;

/// <summary>Where a transform stage's results go (the job's next stage). Called by one task at a time.</summary>
internal interface IResultSink
{
    /// <summary>Receives each batch's result exactly once; in journal order when the job preserves order.</summary>
    ValueTask WriteAsync(PendingBatch batch, BatchResult result, CancellationToken cancellationToken);
}

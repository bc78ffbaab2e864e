using Microsoft.Extensions.Logging;

namespace Jex.UserCode;

/// <summary>
/// What a function knows about the item it is processing. Add a parameter of this type to a
/// function to receive it.
/// </summary>
/// <remarks>
/// The runtime reuses one context object for the items of a batch, which it processes in
/// order: read the properties during the call, and do not keep the context after the call
/// (or its task) completes.
/// </remarks>
public interface IJexContext
{
    /// <summary>
    /// A logger whose records go to the runtime's log and are forwarded to the member, tagged with
    /// the batch id. Records below the session's log level (from the member's Init) are dropped.
    /// </summary>
    ILogger Logger { get; }

    /// <summary>The job id, as the member sent it; empty when it sent none.</summary>
    string JobId { get; }

    /// <summary>The job name, as the member sent it; empty when it sent none.</summary>
    string JobName { get; }

    /// <summary>The pipeline stage that calls the function.</summary>
    string StageName { get; }

    /// <summary>The function's name, as in <see cref="JexFunctionAttribute.Name"/>.</summary>
    string FunctionName { get; }

    /// <summary>The member-chosen id of the batch the item belongs to.</summary>
    long BatchId { get; }

    /// <summary>
    /// The item's key, as encoded on the wire (for example Hazelcast <c>Data</c> bytes). It points
    /// into a pooled buffer and is valid until the call completes; copy it to keep it.
    /// </summary>
    ReadOnlyMemory<byte> RawKey { get; }

    /// <summary>The item's event time, from the map journal.</summary>
    DateTimeOffset Timestamp { get; }

    /// <summary>The journal partition the item came from.</summary>
    int Partition { get; }

    /// <summary>The item's sequence number within its journal partition.</summary>
    long Sequence { get; }

    /// <summary>
    /// Free-form settings from the member's Init (never null; empty when none were sent).
    /// </summary>
    IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>
    /// Signalled when the batch's deadline passes, the member cancels the batch, or the session
    /// ends. Pass it to any I/O the function does.
    /// </summary>
    CancellationToken CancellationToken { get; }
}

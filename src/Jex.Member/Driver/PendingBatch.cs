using System.Diagnostics;
using Jex.Member.Diagnostics;
using Jex.Protocol.V1;

namespace Jex.Member.Driver;

/// <summary>
/// A batch the driver built from the journal. <see cref="Sequence"/> is the driver's own, stable
/// across runtime restarts; the wire id is chosen per session each time the batch is sent.
/// </summary>
internal sealed class PendingBatch
{
    public PendingBatch(long sequence, IReadOnlyList<Item> items, int bytes)
    {
        Sequence = sequence;
        Items = items;
        Bytes = bytes;
    }

    public long Sequence { get; }

    public IReadOnlyList<Item> Items { get; }

    public int Bytes { get; }

    /// <summary>Handed to a session at least once: it must be replayed if that session dies without a result.</summary>
    public bool Taken { get; internal set; }

    /// <summary>How many times it was sent (1 unless replayed).</summary>
    public int Sends { get; internal set; }

    /// <summary>When the latest send began (<see cref="Stopwatch"/> ticks), for the round trip.</summary>
    public long SentTimestamp { get; internal set; }

    /// <summary>The latest send's span; null when nobody traces. Set by the sender before the batch is marked sent.</summary>
    public Activity? Activity { get; internal set; }

    public Batch ToMessage(ulong wireId, uint deadlineMs)
    {
        var batch = new Batch { Id = wireId, DeadlineMs = deadlineMs };
        batch.Items.Add(Items);
        if (MemberTracing.TraceparentOf(Activity) is { } traceparent)
        {
            batch.Traceparent = traceparent;
            if (Activity!.TraceStateString is { Length: > 0 } tracestate)
            {
                batch.Tracestate = tracestate;
            }
        }

        return batch;
    }
}

using System.Diagnostics;
using System.Text;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Diagnostics;

/// <summary>
/// The runtime's traces: one <see cref="Activity"/> per batch from the <see cref="ActivitySource"/>
/// <c>Jex.Runtime</c>, a child of the member's span when the batch carries a W3C
/// <c>traceparent</c>. Nothing is parsed or allocated unless a listener samples the source.
/// </summary>
internal static class RuntimeActivity
{
    public const string SourceName = "Jex.Runtime";

    public const string BatchActivityName = "jex.runtime.batch";

    public static readonly ActivitySource Source = new(SourceName, RuntimeInfo.Version);

    /// <summary>
    /// Starts the batch's Activity (and makes it <see cref="Activity.Current"/>), or returns null
    /// at once when nobody listens. A traceparent that is not valid W3C is ignored: the batch then
    /// starts a trace of its own rather than failing.
    /// </summary>
    public static Activity? StartBatch(ReadOnlySpan<byte> traceparent, ReadOnlySpan<byte> tracestate, string function, ulong batchId, int items)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext parent = default;
        if (!traceparent.IsEmpty)
        {
            _ = ActivityContext.TryParse(
                Encoding.ASCII.GetString(traceparent),
                tracestate.IsEmpty ? null : Encoding.ASCII.GetString(tracestate),
                isRemote: true,
                out parent);
        }

        var activity = Source.StartActivity(BatchActivityName, ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("jex.function", function);
            activity.SetTag("jex.batch.id", (long)batchId);
            activity.SetTag("jex.batch.items", items);
        }

        return activity;
    }

    /// <summary>Ends the batch's Activity with its error count; a batch with failed items has status Error.</summary>
    public static void StopBatch(Activity activity, int errors)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("jex.batch.errors", errors);
            if (errors > 0)
            {
                activity.SetStatus(ActivityStatusCode.Error, "item errors");
            }
        }

        activity.Dispose();
    }
}

using System.Diagnostics;
using System.Text;
using Jex.Runtime.Dispatch;
using Jex.Runtime.Dispatch.Wire;

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
    /// at once when nobody listens; <see cref="StopBatch(int)"/> ends it. A traceparent that is not valid W3C is ignored: the batch then
    /// starts a trace of its own rather than failing.
    /// </summary>
    public static Activity? StartBatch(MemberMessageBuffer batch, string function)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var batchId = batch.BatchId;
        var items = batch.ItemCount;
        batch.ReadTraceContext(out var traceparent, out var tracestate);
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

    /// <summary>
    /// Ends the batch's Activity, found from <see cref="Activity.Current"/> (user code may have
    /// left an Activity of its own current below it): one AsyncLocal read when nothing traces.
    /// </summary>
    public static void StopBatch(int errors)
    {
        for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
        {
            if (ReferenceEquals(activity.Source, Source) && activity.OperationName == BatchActivityName)
            {
                StopBatch(activity, errors);
                return;
            }
        }
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

using System.Diagnostics;
using Jex.Member.Driver;
using Jex.Member.Sessions;
using Jex.Protocol.V1;

namespace Jex.Member.Diagnostics;

/// <summary>
/// The member's spans: one per batch send, from the send to its result, the parent of the
/// runtime's batch span (its W3C context travels in <c>Batch.traceparent</c>). Nothing is created
/// unless a listener (an OpenTelemetry tracer provider, a test's ActivityListener) samples
/// <see cref="SourceName"/>.
/// </summary>
internal static class MemberTracing
{
    public const string SourceName = "Jex.Member";

    public const string BatchSpanName = "jex.member.batch";

    public static readonly ActivitySource Source = new(SourceName, typeof(MemberTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts the span of one send of <paramref name="batch"/> as a new trace (a job's batches are
    /// independent: one trace for a whole job would grow without bound). Null when nobody listens.
    /// </summary>
    public static Activity? StartBatch(PendingBatch batch, SessionSettings session)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // Activity.Current is the parent StartActivity would pick; a batch has none, and starting
        // one must not make it the parent of the next batch sent from this flow.
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = Source.StartActivity(BatchSpanName, ActivityKind.Client);
        Activity.Current = previous;
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("jex.job", session.JobName);
            activity.SetTag("jex.stage", session.StageName);
            activity.SetTag("jex.function", session.Function);
            activity.SetTag("jex.batch.sequence", batch.Sequence);
            activity.SetTag("jex.batch.items", batch.Items.Count);
            activity.SetTag("jex.batch.bytes", batch.Bytes);
            activity.SetTag("jex.batch.sends", batch.Sends + 1);
        }

        return activity;
    }

    /// <summary>Ends the span with the result: the number of failed items, and an error status when every item failed with a batch error.</summary>
    public static void Stop(Activity activity, BatchResult result)
    {
        if (activity.IsAllDataRequested)
        {
            var errors = 0;
            for (var i = 0; i < result.Results.Count; i++)
            {
                if (result.Results[i].OutcomeCase != ItemResult.OutcomeOneofCase.Ok)
                {
                    errors++;
                }
            }

            activity.SetTag("jex.batch.errors", errors);
            if (result.Error is { } batchError)
            {
                activity.SetStatus(ActivityStatusCode.Error, $"{batchError.Code}: {batchError.Message}");
            }
        }

        activity.Stop();
    }

    /// <summary>Ends the span of a send whose session was lost before its result: the batch is sent again under a new span.</summary>
    public static void StopLost(Activity activity)
    {
        activity.SetStatus(ActivityStatusCode.Error, "the session was lost before the result; the batch is replayed");
        activity.Stop();
    }

    /// <summary>The W3C traceparent of a span to propagate: only a recorded one in W3C form, so the runtime traces only what is kept.</summary>
    public static string? TraceparentOf(Activity? activity) =>
        activity is { Recorded: true, IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    /// <summary>A log scope that joins a log record to a trace, with the names ASP.NET Core uses.</summary>
    public static KeyValuePair<string, object?>[] LogScope(string traceId, string spanId) =>
    [
        new("TraceId", traceId),
        new("SpanId", spanId),
    ];
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using Jex.Protocol.V1;
using Jex.Runtime.Diagnostics;
using Jex.Runtime.Tests.Dispatch;
using Jex.Runtime.UserCode;
using Jex.UserCode;
using Microsoft.Extensions.Logging;

namespace Jex.Runtime.Tests.Diagnostics;

/// <summary>
/// A batch's Activity is a child of the member's span (Batch.traceparent), tagged with the batch,
/// and user code's forwarded logs carry its trace and span ids.
/// </summary>
public sealed class RuntimeActivityTests
{
    public static class Functions
    {
        public static string Logs(string value, IJexContext context)
        {
            context.Logger.LogWarning("saw {Value}", value);
            return value == "fail" ? throw new InvalidOperationException("fail") : value;
        }

        /// <summary>Logs after an await, on whatever thread the continuation runs.</summary>
        public static async Task<string> LogsLater(string value, IJexContext context)
        {
            await Task.Yield();
            context.Logger.LogWarning("saw {Value}", value);
            return value == "fail" ? throw new InvalidOperationException("fail") : value;
        }
    }

    /// <summary>Both orderings, each with a function that logs at once and one that logs after an await.</summary>
    public static TheoryData<Ordering, string> Cases => new()
    {
        { Ordering.Batch, nameof(Functions.Logs) },
        { Ordering.Batch, nameof(Functions.LogsLater) },
        // Key order runs items on the session's scheduler, outside the batch's own flow.
        { Ordering.Key, nameof(Functions.Logs) },
        { Ordering.Key, nameof(Functions.LogsLater) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ABatchWithATraceparent_RunsInAChildActivity_WhoseIdsTheForwardedLogCarries(Ordering ordering, string function)
    {
        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RuntimeActivity.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            // Other tests' batches run in parallel: only this trace is kept.
            ActivityStopped = a =>
            {
                if (a.TraceId == traceId)
                {
                    stopped.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var harness = new SessionHarness(typeof(Functions), new PayloadCodecs(), function);
        var init = SessionHarness.InitFor(function, Format.Text);
        init.Ordering = ordering;
        init.MaxConcurrency = ordering == Ordering.Key ? 4u : 0u;
        await harness.InitAsync(init);
        var batch = new Batch
        {
            Id = 1,
            Traceparent = $"00-{traceId.ToHexString()}-{parentSpan.ToHexString()}-01",
            Tracestate = "jex=1",
            Items =
            {
                new Item { Key = ByteString.CopyFromUtf8("k1"), Value = ByteString.CopyFromUtf8("a") },
                new Item { Key = ByteString.CopyFromUtf8("k2"), Value = ByteString.CopyFromUtf8("fail") },
            },
        };
        await harness.SendAsync(new MemberMessage { Batch = batch });

        var logs = new List<Jex.Protocol.V1.Log>();
        RuntimeMessage message;
        while ((message = await harness.ReadAsync()).Result is null)
        {
            logs.Add(message.Log);
        }

        await harness.EndAsync();
        var activity = Assert.Single(stopped);
        Assert.Equal(RuntimeActivity.BatchActivityName, activity.OperationName);
        Assert.Equal(parentSpan, activity.ParentSpanId);
        Assert.Equal("jex=1", activity.TraceStateString);
        Assert.Equal(ActivityKind.Server, activity.Kind);
        Assert.Equal(function, activity.GetTagItem("jex.function"));
        Assert.Equal(1L, activity.GetTagItem("jex.batch.id"));
        Assert.Equal(2, activity.GetTagItem("jex.batch.items"));
        Assert.Equal(1, activity.GetTagItem("jex.batch.errors"));
        Assert.Equal(ActivityStatusCode.Error, activity.Status);

        Assert.Equal(2, logs.Count);
        Assert.All(logs, log =>
        {
            Assert.Equal(traceId.ToHexString(), log.TraceId);
            Assert.Equal(activity.SpanId.ToHexString(), log.SpanId);
        });
    }
}

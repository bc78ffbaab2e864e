using System.Collections.Concurrent;
using Jex.UserCode;
using Microsoft.Extensions.Logging;

namespace Jex.Testing;

/// <summary>
/// An <see cref="IJexContext"/> for tests. Pass it to <see cref="JexFunction.InvokeAsync"/> to set
/// what the function sees (settings, job and stage names, key, partition, cancellation), or pass it
/// straight to a function you call yourself. Either way it captures what the function logs, in
/// <see cref="Logs"/>.
/// </summary>
/// <example>
/// <code>
/// var context = new TestJexContext { Settings = { ["min-length"] = "4" }, Partition = 3 };
/// var result = await f.InvokeAsync(JexInput.Text("the quick fox"), context);
/// Assert.Contains(context.Logs, l => l.Level == LogLevel.Warning);
/// </code>
/// </example>
public sealed class TestJexContext : IJexContext
{
    private readonly ConcurrentQueue<JexLogEntry> _logs = new();

    /// <summary>A context with the defaults below and no settings.</summary>
    public TestJexContext() => Logger = CreateLogger(string.Empty);

    /// <summary>The logger user code gets: it records into <see cref="Logs"/>, every level included.</summary>
    public ILogger Logger { get; }

    /// <summary>Default <c>test-job</c>.</summary>
    public string JobId { get; set; } = "test-job";

    /// <summary>Default <c>test</c>.</summary>
    public string JobName { get; set; } = "test";

    /// <summary>Default <c>test-stage</c>.</summary>
    public string StageName { get; set; } = "test-stage";

    /// <summary>Empty by default; <see cref="JexFunction.InvokeAsync"/> then uses the function's name, as the runtime does.</summary>
    public string FunctionName { get; set; } = string.Empty;

    /// <summary>Default 1: the first batch of a session.</summary>
    public long BatchId { get; set; } = 1;

    /// <summary>The item's key bytes; used by <see cref="JexFunction.InvokeAsync"/> only for an input without a key. Empty by default.</summary>
    public ReadOnlyMemory<byte> RawKey { get; set; }

    /// <summary>The item's event time. Default 2026-01-01T00:00:00Z.</summary>
    public DateTimeOffset Timestamp { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The item's partition. Default 0.</summary>
    public int Partition { get; set; }

    /// <summary>The item's sequence in its partition; in a batch, each later item gets the next one. Default 0.</summary>
    public long Sequence { get; set; }

    /// <summary>The job's settings for this stage (the <c>settings:</c> of the job file). Empty by default.</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    IReadOnlyDictionary<string, string> IJexContext.Settings => Settings;

    /// <summary>Cancels the call: an item not finished when it is cancelled fails with <see cref="JexErrorCode.Cancelled"/>. None by default.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Everything logged through this context, in order, from any thread.</summary>
    public IReadOnlyList<JexLogEntry> Logs => [.. _logs];

    /// <summary>Forgets the captured logs.</summary>
    public void ClearLogs() => _logs.Clear();

    /// <summary>A logger of <paramref name="category"/> that records into <see cref="Logs"/>.</summary>
    internal ILogger CreateLogger(string category) => new CapturingLogger(this, category);

    private sealed class CapturingLogger(TestJexContext owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel != LogLevel.None)
            {
                owner._logs.Enqueue(new JexLogEntry(logLevel, category, formatter(state, exception), exception, eventId));
            }
        }
    }
}

/// <summary>One record user code logged.</summary>
/// <param name="Level">Its level.</param>
/// <param name="Category">
/// The logger's category: <c>UserCode.&lt;function&gt;</c> during <see cref="JexFunction.InvokeAsync"/>,
/// as in the runtime; empty for <see cref="TestJexContext.Logger"/> used directly.
/// </param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it, if any.</param>
/// <param name="EventId">Its event id.</param>
public sealed record JexLogEntry(LogLevel Level, string Category, string Message, Exception? Exception, EventId EventId);

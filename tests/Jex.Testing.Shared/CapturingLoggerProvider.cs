using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Jex.Testing.Shared;

/// <summary>One log call as a logger received it.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() =>
        $"{Level} [{Category}] ({EventId.Id}{(EventId.Name is null ? "" : " " + EventId.Name)}) {Message}{(Exception is null ? "" : Environment.NewLine + Exception)}";
}

/// <summary>
/// An <see cref="ILoggerProvider"/> that keeps every record, from any thread, for a test to look at.
/// Every level is enabled, so what a test sees does not depend on the host's filters.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    /// <summary>Every record so far, oldest first.</summary>
    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>Called for each record as it is logged (after it is kept), on the logging thread.</summary>
    public event Action<CapturedLog>? Logged;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Every record so far, one a line, for a failure message.</summary>
    public string Dump() => string.Join(Environment.NewLine, _entries);

    public void Dispose()
    {
    }

    private void Add(CapturedLog entry)
    {
        _entries.Enqueue(entry);
        Logged?.Invoke(entry);
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Add(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

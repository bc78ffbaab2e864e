using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Jex.Testing.Shared;

/// <summary>
/// An <see cref="ILogger"/> that keeps each message with the key/value scope it was logged in (the
/// innermost one), so a test can check what a scope carried, e.g. a trace id.
/// </summary>
public sealed class ScopeCapturingLogger : ILogger
{
    private readonly AsyncLocal<IReadOnlyDictionary<string, object?>?> _scope = new();

    public ConcurrentQueue<(string Message, IReadOnlyDictionary<string, object?>? Scope)> Records { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        var outer = _scope.Value;
        _scope.Value = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(p => p.Key, p => p.Value) : null;
        return new Pop(() => _scope.Value = outer);
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Records.Enqueue((formatter(state, exception), _scope.Value));

    public override string ToString() => string.Join('\n', Records.Select(r => r.Message));

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}

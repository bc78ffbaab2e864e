namespace Jex.Member.Launch;

/// <summary>
/// The last lines a runtime wrote (stdout and stderr interleaved), kept for error messages.
/// Thread-safe: the two output streams append from their own threads.
/// </summary>
internal sealed class OutputTail
{
    private readonly Queue<string> _lines = new();
    private readonly int _capacity;
    private readonly Lock _lock = new();

    public OutputTail(int capacity = 50) => _capacity = capacity;

    public void Add(string line)
    {
        lock (_lock)
        {
            if (_lines.Count == _capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_lock)
        {
            return [.. _lines];
        }
    }

    /// <summary>The most telling lines for a one-line error: the last ones, joined.</summary>
    public string Summary(int lines = 8)
    {
        var all = Snapshot();
        return all.Count == 0 ? "(the runtime wrote nothing)" : string.Join(" | ", all.Skip(Math.Max(0, all.Count - lines)));
    }
}

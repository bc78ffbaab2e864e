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

    /// <summary>
    /// The most telling lines for a one-line error: the last few that look like errors, or else the
    /// last few lines at all, each cut to a readable length.
    /// </summary>
    public string Summary(int lines = 3)
    {
        var all = Snapshot();
        if (all.Count == 0)
        {
            return "(the runtime wrote nothing)";
        }

        var errors = all.Where(LooksLikeError).ToList();
        var pick = (errors.Count > 0 ? errors : all).TakeLast(lines).Select(l => l.Length <= 400 ? l : l[..400] + "...");
        return string.Join(" | ", pick);
    }

    private static bool LooksLikeError(string line) =>
        line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal)
        || line.Contains("error", StringComparison.OrdinalIgnoreCase) || line.Contains("exception", StringComparison.OrdinalIgnoreCase)
        || line.Contains("fail", StringComparison.OrdinalIgnoreCase);
}

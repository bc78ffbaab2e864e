namespace Jex.Member.Driver;

/// <summary>
/// How the driver restarts a lost runtime: exponential backoff, and a circuit breaker that opens
/// after <see cref="MaxConsecutiveFailures"/> failures in a row without one batch resolved in
/// between (a crash loop), or after <see cref="MaxRestarts"/> in total.
/// </summary>
internal sealed record RestartPolicy
{
    public int MaxConsecutiveFailures { get; init; } = 5;

    public int MaxRestarts { get; init; } = 100;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The wait before the restart that follows the <paramref name="consecutiveFailures"/>-th failure in a row (1-based).</summary>
    public TimeSpan Backoff(int consecutiveFailures)
    {
        var exponent = Math.Clamp(consecutiveFailures - 1, 0, 20);
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(2, exponent);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxBackoff.TotalMilliseconds));
    }
}

namespace Jex.Testing.Shared;

/// <summary>Polling for a condition another thread makes true, with a bound on how long.</summary>
public static class Wait
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Completes when <paramref name="condition"/> is true; throws <see cref="TimeoutException"/>
    /// naming <paramref name="what"/> when it is still false after <paramref name="timeout"/>.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what = "the condition")
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"{what} was still not true after {timeout.TotalSeconds:0.#} s");
            }

            await Task.Delay(Poll).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The same, calling <paramref name="poke"/> before each check, for state that is only updated
    /// when someone asks (a watchdog's check, a health probe).
    /// </summary>
    public static Task UntilAsync(Func<bool> condition, Action poke, TimeSpan timeout, string what = "the condition") =>
        UntilAsync(() =>
        {
            poke();
            return condition();
        }, timeout, what);
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Jex.UserCode;
using Microsoft.Extensions.Logging;

namespace Jex.Samples;

/// <summary>Functions the tests, benchmarks and interop clients use, one per behaviour.</summary>
public static class TestFunctions
{
    /// <summary>Returns the value's bytes unchanged, without copying them.</summary>
    [JexFunction("identity")]
    public static ReadOnlyMemory<byte> Identity(ReadOnlyMemory<byte> value) => value;

    /// <summary>Throws InvalidOperationException when the text starts with "throw"; echoes it otherwise.</summary>
    [JexFunction("throwOnDemand")]
    public static string ThrowOnDemand(string value) =>
        value.StartsWith("throw", StringComparison.Ordinal)
            ? throw new InvalidOperationException($"asked to throw by '{value}'")
            : value;

    /// <summary>Keeps even numbers (as text) and filters out the rest.</summary>
    [JexFunction("filterEven")]
    public static string? FilterEven(string value) =>
        long.Parse(value, CultureInfo.InvariantCulture) % 2 == 0 ? value : null;

    /// <summary>Splits comma-separated text into one output per part.</summary>
    [JexFunction("explode")]
    public static IEnumerable<string> Explode(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Logs one Information line per item through the context, then echoes the value.</summary>
    [JexFunction("logAndEcho")]
    public static string LogAndEcho(string value, IJexContext context)
    {
        context.Logger.LogInformation("processing {Value} from partition {Partition}", value, context.Partition);
        return value;
    }

    /// <summary>
    /// "sleep:N" waits N ms without observing cancellation (so deadlines must cut it off);
    /// anything else is echoed at once.
    /// </summary>
    [JexFunction("sleepy")]
    public static async Task<string> Sleepy(string value)
    {
        if (value.StartsWith("sleep:", StringComparison.Ordinal))
        {
            await Task.Delay(int.Parse(value.AsSpan(6), CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }

        return value;
    }

    /// <summary>Waits a pseudo-random 0–3 ms per item (from the value's hash), then echoes: for ordering tests.</summary>
    [JexFunction("jitter")]
    public static async ValueTask<string> Jitter(string value, CancellationToken cancellationToken)
    {
        var delay = (int)((uint)value.GetHashCode(StringComparison.Ordinal) % 4);
        if (delay > 0)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    /// <summary>
    /// Adds one to the counter in the file named by the session setting "counter-file" and echoes:
    /// a visible side effect for tests that must prove user code did not run.
    /// </summary>
    [JexFunction("countCalls")]
    public static string CountCalls(string value, IJexContext context)
    {
        var path = context.Settings["counter-file"];
        lock (CounterLock)
        {
            var current = File.Exists(path) ? long.Parse(File.ReadAllText(path), CultureInfo.InvariantCulture) : 0;
            File.WriteAllText(path, (current + 1).ToString(CultureInfo.InvariantCulture));
        }

        return value;
    }

    /// <summary>Spins about one microsecond per item, then returns the bytes: a CPU-bound benchmark load.</summary>
    [JexFunction("burn1us")]
    public static ReadOnlyMemory<byte> Burn1Us(ReadOnlyMemory<byte> value)
    {
        BenchFunctions.BurnOneMicrosecond();
        return value;
    }

    /// <summary>
    /// Waits 5 ms, then returns the bytes: an I/O-bound benchmark load (a web call per item), where
    /// key ordering runs a batch's items at once and batch ordering one after another.
    /// </summary>
    [JexFunction("async5ms")]
    public static async Task<ReadOnlyMemory<byte>> Async5Ms(ReadOnlyMemory<byte> value)
    {
        await Task.Delay(5).ConfigureAwait(false);
        return value;
    }

    /// <summary>Upper-cases the value of a map entry and keys the output "upper:" + key.</summary>
    [JexFunction("upperEntry")]
    public static MapEntry<string, string> UpperEntry(MapEntry<string, string> entry) =>
        new("upper:" + entry.Key, entry.Value.ToUpperInvariant());

    /// <summary>Async flat-map: yields the value's characters one by one.</summary>
    [JexFunction("charsAsync")]
    public static async IAsyncEnumerable<string> CharsAsync(string value, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var rune in value.EnumerateRunes())
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return rune.ToString();
        }
    }

    /// <summary>Returns the UTF-8 byte count of the value as text.</summary>
    [JexFunction("byteCount")]
    public static string ByteCount(byte[] value) => value.Length.ToString(CultureInfo.InvariantCulture);

    /// <summary>Describes where the item came from, using the context.</summary>
    [JexFunction("describe")]
    public static string Describe(string value, IJexContext context) =>
        $"{context.JobName}/{context.StageName}/{context.FunctionName} batch={context.BatchId} partition={context.Partition} seq={context.Sequence} key={Encoding.UTF8.GetString(context.RawKey.Span)} value={value}";

    private static readonly object CounterLock = new();
}

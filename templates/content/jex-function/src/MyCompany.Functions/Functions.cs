using Jex.UserCode;

namespace MyCompany.Functions;

// Not a static class, so that tests can name it: JexFunction.Load<Functions>("enrichOrder").
public sealed class Functions
{
    /// <summary>
    /// A map: one order in, one view out, under the input's key. The job's <c>format</c> picks the
    /// codec: JSON in and out, or Hazelcast Compact in and out in a Jet pipeline.
    /// </summary>
    [JexFunction("enrichOrder")]
    public static OrderView EnrichOrder(Order order) => new()
    {
        Id = order.Id,
        Customer = order.Customer?.Trim().ToUpperInvariant(),
        TotalCents = order.Quantity * order.UnitPriceCents,
        Bulk = order.Quantity >= 10,
    };

    /// <summary>
    /// A flat-map: one line of text in, one output per word (none for a blank line). Words shorter
    /// than the job's <c>min-length</c> setting (default 1) are dropped.
    /// </summary>
    [JexFunction("splitWords")]
    public static IEnumerable<string> SplitWords(string line, IJexContext context)
    {
        var minLength = context.Settings.TryGetValue("min-length", out var value) ? int.Parse(value) : 1;
        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(word => word.Length >= minLength);
    }
}

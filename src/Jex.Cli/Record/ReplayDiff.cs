using System.Text;
using Jex.Protocol.V1;

namespace Jex.Cli.Record;

/// <summary>One item whose replayed result is not the recorded one.</summary>
/// <param name="Key">The item's key, as text.</param>
/// <param name="Batch">The recorded batch's sequence.</param>
/// <param name="Index">The item's place in its batch, from 0.</param>
/// <param name="Expected">The recorded result, rendered.</param>
/// <param name="Actual">The replayed result, rendered.</param>
internal sealed record ItemDifference(string Key, long Batch, int Index, string Expected, string Actual);

/// <summary>
/// Compares results item by item. Outputs compare by key, value and formats, byte for byte; errors
/// by code, exception type and message (not the stack, whose line numbers move with any edit).
/// </summary>
internal static class ReplayDiff
{
    public const int ShownLength = 100;

    /// <summary>
    /// A result as one line, the unit of comparison; session defaults stand in for unspecified
    /// formats, and an output keyed like its input shows no key (a map's usual case).
    /// </summary>
    public static string Render(ItemResult result, Format keyDefault, Format valueDefault, Google.Protobuf.ByteString? inputKey = null)
    {
        if (result.OutcomeCase != ItemResult.OutcomeOneofCase.Ok)
        {
            var error = result.Error ?? new ItemError();
            return $"error {RecordFormat.CodeName(error.Code)} {error.Type}: {error.Message}";
        }

        if (result.Ok.Outputs_.Count == 0)
        {
            return "no output (filtered out)";
        }

        var text = new StringBuilder();
        foreach (var output in result.Ok.Outputs_)
        {
            if (text.Length > 0)
            {
                text.Append(" | ");
            }

            var keyFormat = RecordFormat.Resolve(output.KeyFormat, keyDefault);
            var valueFormat = RecordFormat.Resolve(output.ValueFormat, valueDefault);
            if (!output.Key.IsEmpty && !output.Key.Equals(inputKey))
            {
                text.Append(RecordFormat.Show(output.Key, keyFormat)).Append(" = ");
            }

            text.Append(RecordFormat.Show(output.Value, valueFormat));
            if (valueFormat != valueDefault)
            {
                text.Append(" (").Append(RecordFormat.FormatName(valueFormat)).Append(')');
            }
        }

        return text.ToString();
    }

    /// <summary>The items of <paramref name="batch"/> whose <paramref name="actual"/> result differs from the recorded one.</summary>
    public static IEnumerable<ItemDifference> Compare(RecordedBatch batch, IReadOnlyList<ItemResult> actual, Format keyDefault, Format valueDefault)
    {
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var item = batch.Items[i];
            var expected = Render(batch.Results[i], keyDefault, valueDefault, item.Key);
            var got = i < actual.Count ? Render(actual[i], keyDefault, valueDefault, item.Key) : "no result";
            if (!string.Equals(expected, got, StringComparison.Ordinal))
            {
                yield return new ItemDifference(RecordFormat.Show(item.Key, RecordFormat.Resolve(item.KeyFormat, keyDefault)), batch.Sequence, i, expected, got);
            }
        }
    }

    /// <summary>
    /// Both sides cut to about <paramref name="width"/> characters around their first difference,
    /// with "..." where text was cut, so a long JSON value shows the part that changed.
    /// </summary>
    public static (string Expected, string Actual) Shorten(string expected, string actual, int width = ShownLength)
    {
        var first = 0;
        while (first < expected.Length && first < actual.Length && expected[first] == actual[first])
        {
            first++;
        }

        var start = Math.Max(0, first - (width / 3));
        return (Cut(expected, start, width), Cut(actual, start, width));
    }

    private static string Cut(string text, int start, int width)
    {
        if (text.Length <= width)
        {
            return text;
        }

        start = Math.Min(start, Math.Max(0, text.Length - width));
        var end = Math.Min(text.Length, start + width);
        return (start > 0 ? "..." : "") + text[start..end] + (end < text.Length ? "..." : "");
    }
}

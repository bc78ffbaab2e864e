using System.Collections;
using Jex.Hazelcast.Compact;

namespace Jex.Hazelcast.Tests;

/// <summary>Structural equality for decoded values: floats by bits (NaN equal, -0 distinct from 0), arrays item by item, records field by field.</summary>
internal static class ValueComparer
{
    public static bool AreEqual(object? a, object? b, out string difference, string path = "$")
    {
        difference = string.Empty;
        switch (a, b)
        {
            case (null, null):
                return true;
            case (null, _) or (_, null):
                difference = $"{path}: {Show(a)} vs {Show(b)}";
                return false;
            case (float x, float y):
                // Any NaN equals any NaN here; the byte-identity tests pin Java's canonical NaN bits.
                return Check((float.IsNaN(x) && float.IsNaN(y)) || BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y), a, b, path, out difference);
            case (double x, double y):
                return Check((double.IsNaN(x) && double.IsNaN(y)) || BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y), a, b, path, out difference);
            case (CompactRecord x, CompactRecord y):
                if (x.Schema.Id != y.Schema.Id)
                {
                    difference = $"{path}: schema {x.Schema} vs {y.Schema}";
                    return false;
                }

                foreach (var f in x.Schema.Fields)
                {
                    if (!AreEqual(x[f.Ordinal], y[f.Ordinal], out difference, $"{path}.{f.Name}"))
                    {
                        return false;
                    }
                }

                return true;
            case (Values.HazelcastJsonValue x, Values.HazelcastJsonValue y):
                // Same JSON, whatever the escaping: the byte-identity tests pin the exact text.
                return Check(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(x.Text), System.Text.Json.Nodes.JsonNode.Parse(y.Text)), a, b, path, out difference);
            case (string, _) or (_, string):
                return Check(Equals(a, b), a, b, path, out difference);
            case (IEnumerable x, IEnumerable y):
                var xs = x.Cast<object?>().ToList();
                var ys = y.Cast<object?>().ToList();
                if (xs.Count != ys.Count || a.GetType() != b.GetType())
                {
                    difference = $"{path}: {a.GetType().Name}[{xs.Count}] vs {b.GetType().Name}[{ys.Count}]";
                    return false;
                }

                for (int i = 0; i < xs.Count; i++)
                {
                    if (!AreEqual(xs[i], ys[i], out difference, $"{path}[{i}]"))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return Check(a.GetType() == b.GetType() && Equals(a, b), a, b, path, out difference);
        }
    }

    private static bool Check(bool equal, object? a, object? b, string path, out string difference)
    {
        difference = equal ? string.Empty : $"{path}: {Show(a)} vs {Show(b)}";
        return equal;
    }

    private static string Show(object? v) => v is null ? "null" : $"{v} ({v.GetType().Name})";
}

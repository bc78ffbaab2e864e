using System.Text.Json;
using Jex.Hazelcast.Json;
using Jex.Hazelcast.Serialization;

namespace Jex.Hazelcast.Tests;

public sealed class VectorTests
{
    public static IEnumerable<object[]> Vectors => VectorFile.Names();

    [Fact]
    public void VectorFile_HasAtLeast200VectorsFromTheNodeClient()
    {
        var file = VectorFile.Current;
        Assert.StartsWith("hazelcast-client 5.7.0", file.Document.RootElement.GetProperty("generator").GetString(), StringComparison.Ordinal);
        Assert.True(file.Vectors.Count >= 200, $"only {file.Vectors.Count} vectors in {file.Path}");
    }

    [Fact]
    public void SchemaIds_MatchTheClientsFingerprints()
    {
        // SchemaJson.Parse checks each file "id" against our Rabin-64 and throws on a mismatch.
        foreach (var s in VectorFile.Current.Document.RootElement.GetProperty("schemas").EnumerateArray())
        {
            var parsed = SchemaJson.Parse($"[{s.GetRawText()}]", "vectors");
            Assert.Equal(s.GetProperty("id").GetString(), parsed[0].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decode_ProducesTheExpectedValue(string name)
    {
        var v = VectorFile.Current.Get(name);
        var decoded = HazelcastSerializer.Deserialize(v.Bytes, VectorFile.Current.Registry);
        var expected = HazelcastJson.FromJson(v.Value, v.Kind, VectorFile.Current.Registry);
        Assert.True(ValueComparer.AreEqual(expected, decoded, out var difference), $"{name}: {difference}");

        // The printed JSON reads back to the same value: decode's output is encode's input.
        using var printed = JsonDocument.Parse(HazelcastJson.ToJson(decoded));
        var reparsed = HazelcastJson.FromJson(printed.RootElement, v.Kind, VectorFile.Current.Registry);
        Assert.True(ValueComparer.AreEqual(expected, reparsed, out difference), $"{name} (printed and re-read): {difference}");
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_OfTheDecodedValue_IsByteIdentical(string name)
    {
        var v = VectorFile.Current.Get(name);
        if (v.DecodeOnly)
        {
            // The client's own non-Java DECIMAL encoding: .NET writes Java's minimal form instead,
            // which must decode to the same value.
            var value = HazelcastSerializer.Deserialize(v.Bytes, VectorFile.Current.Registry);
            var again = HazelcastSerializer.Deserialize(HazelcastSerializer.Serialize(value), VectorFile.Current.Registry);
            Assert.True(ValueComparer.AreEqual(value, again, out var diff), diff);
            return;
        }

        var decoded = HazelcastSerializer.Deserialize(v.Bytes, VectorFile.Current.Registry);
        Assert.Equal(Convert.ToHexStringLower(v.Bytes), Convert.ToHexStringLower(HazelcastSerializer.Serialize(decoded)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_OfTheExpectedJson_IsByteIdentical(string name)
    {
        var v = VectorFile.Current.Get(name);
        if (v.DecodeOnly)
        {
            return;
        }

        var value = HazelcastJson.FromJson(v.Value, v.Kind, VectorFile.Current.Registry);
        Assert.Equal(Convert.ToHexStringLower(v.Bytes), Convert.ToHexStringLower(HazelcastSerializer.Serialize(value)));
    }
}

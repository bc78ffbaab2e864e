using Jex.UserCode.Compact;

namespace Jex.Runtime.Tests.UserCode.Hazelcast;

[CompactType("some-thing")]
public sealed class SomeThing
{
    public int Value { get; set; }
}

[CompactType("other-thing")]
public sealed class OtherThing
{
    public string? Value { get; set; }
}

/// <summary>A plain class: under FORMAT_HAZELCAST it is HazelcastJsonValue.</summary>
public sealed class JsonPoint
{
    public int X { get; set; }

    public int Y { get; set; }
}

[CompactType("address")]
public sealed class Address
{
    public string? City { get; set; }

    public int Zip { get; set; }
}

/// <summary>Every property kind the attribute documents.</summary>
[CompactType("everything")]
public sealed class Everything
{
    public bool Flag { get; set; }

    public sbyte Tiny { get; set; }

    public short Small { get; set; }

    public int Count { get; set; }

    public long Big { get; set; }

    public float Ratio { get; set; }

    public double Precise { get; set; }

    public int? MaybeCount { get; set; }

    public bool? MaybeFlag { get; set; }

    public string? Name { get; set; }

    public decimal Amount { get; set; }

    public decimal? MaybeAmount { get; set; }

    public DateOnly Day { get; set; }

    public TimeOnly At { get; set; }

    public DateTime Stamp { get; set; }

    public DateTimeOffset Zoned { get; set; }

    public Address? Home { get; set; }

    public Address?[]? Others { get; set; }

    public int[]? Numbers { get; set; }

    public long?[]? MaybeLongs { get; set; }

    public string?[]? Tags { get; set; }

    public byte[]? Blob { get; set; }

    public DateOnly?[]? Days { get; set; }
}

/// <summary>A Compact type mapped by hand.</summary>
public sealed class Temperature
{
    public string Sensor { get; set; } = "";

    public double Celsius { get; set; }

    public int[]? History { get; set; }
}

public sealed class TemperatureSerializer : ICompactSerializer<Temperature>
{
    public string TypeName => "temperature";

    public Temperature Read(ICompactReader reader) => new()
    {
        Sensor = reader.ReadString("sensor-id") ?? "",
        Celsius = reader.ReadFloat64("celsius"),
        History = reader.HasField("history") ? reader.Read<int[]>("history") : null,
    };

    public void Write(ICompactWriter writer, Temperature value)
    {
        writer.WriteString("sensor-id", value.Sensor);
        writer.WriteFloat64("celsius", value.Celsius);
        writer.Write("history", value.History);
    }
}

/// <summary>Both an attribute and a serializer: the serializer wins.</summary>
[CompactType("by-attribute")]
public sealed class Overridden
{
    public int Value { get; set; }
}

public sealed class OverriddenSerializer : ICompactSerializer<Overridden>
{
    public string TypeName => "by-serializer";

    public Overridden Read(ICompactReader reader) => new() { Value = reader.ReadInt32("v") };

    public void Write(ICompactWriter writer, Overridden value) => writer.WriteInt32("v", value.Value);
}

[CompactType("bad")]
public sealed class Unmappable
{
    public Guid Id { get; set; }
}

[CompactType("node")]
public sealed class Node
{
    public int Value { get; set; }

    public Node? Next { get; set; }
}

[CompactType("strict")]
public sealed class Strict
{
    public string Name { get; set; } = "";

    public string? Nick { get; set; }
}

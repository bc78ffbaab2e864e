using System.Numerics;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Values;

namespace Jex.Hazelcast.Tests;

/// <summary>Builds a random schema and record from a seed, so FsCheck can explore schemas and values and replay a failure by its seed.</summary>
internal sealed class RandomValues(int seed)
{
    private readonly Random _random = new(seed);

    private static readonly FieldKind[] AllKinds = Enum.GetValues<FieldKind>().Where(k => k != FieldKind.NOT_AVAILABLE).ToArray();

    public CompactRecord Record(int depth = 0)
    {
        int count = _random.Next(0, depth == 0 ? 14 : 5);
        var fields = new List<FieldDescriptor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string name = Name();
            if (!names.Add(name))
            {
                continue;
            }

            var kind = AllKinds[_random.Next(AllKinds.Length)];
            if (depth >= 2 && kind is FieldKind.COMPACT or FieldKind.ARRAY_OF_COMPACT)
            {
                kind = FieldKind.INT32;
            }

            fields.Add(new FieldDescriptor(name, kind));
        }

        var schema = new Schema($"t{depth}-{_random.Next(1000)}", fields);
        var values = schema.Fields.Select(f => Value(f.Kind, depth)).ToArray();
        return new CompactRecord(schema, values);
    }

    private string Name()
    {
        const string chars = "abcXYZ_é1";
        int length = _random.Next(1, 6);
        return new string(Enumerable.Range(0, length).Select(_ => chars[_random.Next(chars.Length)]).ToArray());
    }

    private bool Null() => _random.Next(5) == 0;

    private string Text() => _random.Next(20) switch
    {
        0 => new string('w', _random.Next(250, 70_000)), // crosses the offset widths
        1 => "😀𝄞",
        2 => string.Empty,
        _ => new string((char)('a' + _random.Next(26)), _random.Next(0, 12)),
    };

    private float Float() => _random.Next(6) switch
    {
        0 => float.NaN,
        1 => -0f,
        2 => float.PositiveInfinity,
        _ => (float)(_random.NextDouble() * 1e6),
    };

    private double Double() => _random.Next(6) switch
    {
        0 => double.NaN,
        1 => -0d,
        2 => double.MinValue,
        _ => _random.NextDouble() * 1e300,
    };

    private HzLocalDate Date() => new(_random.Next(-3000, 12000), (byte)_random.Next(1, 13), (byte)_random.Next(1, 29));

    private HzLocalTime Time() => new((byte)_random.Next(24), (byte)_random.Next(60), (byte)_random.Next(60), _random.Next(0, 1_000_000_000));

    private HzDecimal Decimal() => new(new BigInteger(_random.NextInt64()) * new BigInteger(_random.NextInt64()), _random.Next(-5, 30));

    private T[] Array<T>(Func<T> item) => Enumerable.Range(0, _random.Next(0, 20)).Select(_ => item()).ToArray();

    private T?[] NullableArray<T>(Func<T> item)
        where T : struct => Enumerable.Range(0, _random.Next(0, 12)).Select(_ => Null() ? (T?)null : item()).ToArray();

    private object? Value(FieldKind kind, int depth)
    {
        if (FieldKinds.FixedSize(kind) < 0 && Null())
        {
            return null;
        }

        return kind switch
        {
            FieldKind.BOOLEAN or FieldKind.NULLABLE_BOOLEAN => _random.Next(2) == 0,
            FieldKind.INT8 or FieldKind.NULLABLE_INT8 => (sbyte)_random.Next(-128, 128),
            FieldKind.INT16 or FieldKind.NULLABLE_INT16 => (short)_random.Next(short.MinValue, short.MaxValue + 1),
            FieldKind.INT32 or FieldKind.NULLABLE_INT32 => _random.Next(int.MinValue, int.MaxValue),
            FieldKind.INT64 or FieldKind.NULLABLE_INT64 => _random.NextInt64(long.MinValue, long.MaxValue),
            FieldKind.FLOAT32 or FieldKind.NULLABLE_FLOAT32 => Float(),
            FieldKind.FLOAT64 or FieldKind.NULLABLE_FLOAT64 => Double(),
            FieldKind.STRING => Text(),
            FieldKind.DECIMAL => Decimal(),
            FieldKind.TIME => Time(),
            FieldKind.DATE => Date(),
            FieldKind.TIMESTAMP => new HzLocalDateTime(Date(), Time()),
            FieldKind.TIMESTAMP_WITH_TIMEZONE => new HzOffsetDateTime(new HzLocalDateTime(Date(), Time()), _random.Next(-64800, 64801)),
            FieldKind.COMPACT => Record(depth + 1),
            FieldKind.ARRAY_OF_BOOLEAN => Array(() => _random.Next(2) == 0),
            FieldKind.ARRAY_OF_INT8 => Array(() => (sbyte)_random.Next(-128, 128)),
            FieldKind.ARRAY_OF_INT16 => Array(() => (short)_random.Next(short.MinValue, short.MaxValue + 1)),
            FieldKind.ARRAY_OF_INT32 => Array(() => _random.Next()),
            FieldKind.ARRAY_OF_INT64 => Array(() => _random.NextInt64()),
            FieldKind.ARRAY_OF_FLOAT32 => Array(Float),
            FieldKind.ARRAY_OF_FLOAT64 => Array(Double),
            FieldKind.ARRAY_OF_STRING => Array(() => Null() ? null : Text()),
            FieldKind.ARRAY_OF_DECIMAL => NullableArray(Decimal),
            FieldKind.ARRAY_OF_TIME => NullableArray(Time),
            FieldKind.ARRAY_OF_DATE => NullableArray(Date),
            FieldKind.ARRAY_OF_TIMESTAMP => NullableArray(() => new HzLocalDateTime(Date(), Time())),
            FieldKind.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE => NullableArray(() => new HzOffsetDateTime(new HzLocalDateTime(Date(), Time()), 3600)),
            FieldKind.ARRAY_OF_COMPACT => SameSchemaRecords(depth),
            FieldKind.ARRAY_OF_NULLABLE_BOOLEAN => NullableArray(() => _random.Next(2) == 0),
            FieldKind.ARRAY_OF_NULLABLE_INT8 => NullableArray(() => (sbyte)_random.Next(-128, 128)),
            FieldKind.ARRAY_OF_NULLABLE_INT16 => NullableArray(() => (short)_random.Next(short.MinValue, short.MaxValue + 1)),
            FieldKind.ARRAY_OF_NULLABLE_INT32 => NullableArray(() => _random.Next()),
            FieldKind.ARRAY_OF_NULLABLE_INT64 => NullableArray(() => _random.NextInt64()),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT32 => NullableArray(Float),
            FieldKind.ARRAY_OF_NULLABLE_FLOAT64 => NullableArray(Double),
            _ => throw new InvalidOperationException(kind.ToString()),
        };
    }

    private CompactRecord?[] SameSchemaRecords(int depth)
    {
        var first = Record(depth + 1);
        int count = _random.Next(0, 4);
        var result = new CompactRecord?[count];
        for (int i = 0; i < count; i++)
        {
            // Hazelcast requires one schema per array: reuse the first record's schema with fresh values.
            result[i] = Null() ? null : new CompactRecord(first.Schema, first.Schema.Fields.Select(f => Value(f.Kind, depth + 1)).ToArray());
        }

        return result;
    }

    public static void RegisterAll(SchemaRegistry registry, CompactRecord record)
    {
        registry.Register(record.Schema);
        foreach (var f in record.Schema.Fields)
        {
            switch (record[f.Ordinal])
            {
                case CompactRecord nested: RegisterAll(registry, nested); break;
                case CompactRecord?[] items:
                    foreach (var item in items.OfType<CompactRecord>())
                    {
                        RegisterAll(registry, item);
                    }

                    break;
            }
        }
    }
}

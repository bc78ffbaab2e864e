namespace Jex.Hazelcast.Compact;

/// <summary>Hazelcast's Compact field kinds; the numeric ids are part of the schema id and the wire format.</summary>
internal enum FieldKind
{
    NOT_AVAILABLE = 0,
    BOOLEAN = 1,
    ARRAY_OF_BOOLEAN = 2,
    INT8 = 3,
    ARRAY_OF_INT8 = 4,
    INT16 = 7,
    ARRAY_OF_INT16 = 8,
    INT32 = 9,
    ARRAY_OF_INT32 = 10,
    INT64 = 11,
    ARRAY_OF_INT64 = 12,
    FLOAT32 = 13,
    ARRAY_OF_FLOAT32 = 14,
    FLOAT64 = 15,
    ARRAY_OF_FLOAT64 = 16,
    STRING = 17,
    ARRAY_OF_STRING = 18,
    DECIMAL = 19,
    ARRAY_OF_DECIMAL = 20,
    TIME = 21,
    ARRAY_OF_TIME = 22,
    DATE = 23,
    ARRAY_OF_DATE = 24,
    TIMESTAMP = 25,
    ARRAY_OF_TIMESTAMP = 26,
    TIMESTAMP_WITH_TIMEZONE = 27,
    ARRAY_OF_TIMESTAMP_WITH_TIMEZONE = 28,
    COMPACT = 29,
    ARRAY_OF_COMPACT = 30,
    NULLABLE_BOOLEAN = 33,
    ARRAY_OF_NULLABLE_BOOLEAN = 34,
    NULLABLE_INT8 = 35,
    ARRAY_OF_NULLABLE_INT8 = 36,
    NULLABLE_INT16 = 37,
    ARRAY_OF_NULLABLE_INT16 = 38,
    NULLABLE_INT32 = 39,
    ARRAY_OF_NULLABLE_INT32 = 40,
    NULLABLE_INT64 = 41,
    ARRAY_OF_NULLABLE_INT64 = 42,
    NULLABLE_FLOAT32 = 43,
    ARRAY_OF_NULLABLE_FLOAT32 = 44,
    NULLABLE_FLOAT64 = 45,
    ARRAY_OF_NULLABLE_FLOAT64 = 46,
}

internal static class FieldKinds
{
    /// <summary>Bytes a fixed-size kind takes in the fixed section; 0 for BOOLEAN (a bit); -1 for variable-size kinds.</summary>
    public static int FixedSize(FieldKind kind) => kind switch
    {
        FieldKind.BOOLEAN => 0,
        FieldKind.INT8 => 1,
        FieldKind.INT16 => 2,
        FieldKind.INT32 or FieldKind.FLOAT32 => 4,
        FieldKind.INT64 or FieldKind.FLOAT64 => 8,
        _ => -1,
    };

    public static bool IsDefined(FieldKind kind) => kind != FieldKind.NOT_AVAILABLE && Enum.IsDefined(kind);

    /// <summary>Parses a kind name as Hazelcast spells it (<c>INT32</c>, <c>ARRAY_OF_COMPACT</c>), case-insensitively.</summary>
    public static bool TryParse(string name, out FieldKind kind) =>
        Enum.TryParse(name, ignoreCase: true, out kind) && IsDefined(kind) && !int.TryParse(name, out _);
}

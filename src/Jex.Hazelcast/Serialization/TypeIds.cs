namespace Jex.Hazelcast.Serialization;

/// <summary>The serializer type ids of Hazelcast's built-in types (the second int of a <c>Data</c>).</summary>
internal static class TypeIds
{
    public const int Null = 0;
    public const int Byte = -3;
    public const int Boolean = -4;
    public const int Char = -5;
    public const int Short = -6;
    public const int Integer = -7;
    public const int Long = -8;
    public const int Float = -9;
    public const int Double = -10;
    public const int String = -11;
    public const int ByteArray = -12;
    public const int BooleanArray = -13;
    public const int CharArray = -14;
    public const int ShortArray = -15;
    public const int IntegerArray = -16;
    public const int LongArray = -17;
    public const int FloatArray = -18;
    public const int DoubleArray = -19;
    public const int StringArray = -20;
    public const int Uuid = -21;
    public const int Compact = -55;
    public const int JsonValue = -130;

    public static string Describe(int typeId) => typeId switch
    {
        -1 => "Portable",
        -2 => "IdentifiedDataSerializable",
        -24 => "Java Class",
        -26 => "BigInteger",
        -27 => "BigDecimal",
        -28 or -29 or -30 => "Java collection",
        -51 => "LocalDate",
        -52 => "LocalTime",
        -53 => "LocalDateTime",
        -54 => "OffsetDateTime",
        <= -100 and > -130 => "Java-specific built-in",
        > 0 => "custom serializer",
        _ => "unsupported",
    };
}

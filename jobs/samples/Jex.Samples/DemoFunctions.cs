using Jex.UserCode;
using Jex.UserCode.Compact;

namespace Jex.Samples;

/// <summary>
/// JEX's demo input: a value object with one int. As JSON <c>{"value":20}</c>; as Hazelcast,
/// Compact <c>some-thing {value: INT32}</c>.
/// </summary>
[CompactType("some-thing")]
public sealed class SomeThing
{
    public int Value { get; set; }

    public override string ToString() => $"SomeThing(Value={Value})";
}

/// <summary>
/// JEX's demo output: a value object with one string. As JSON <c>{"value":"__20__"}</c>; as
/// Hazelcast, Compact <c>other-thing {value: STRING}</c>.
/// </summary>
[CompactType("other-thing")]
public sealed class OtherThing
{
    public string? Value { get; set; }

    public override string ToString() => $"OtherThing(Value={Value})";
}

/// <summary>The function JEX's demo job runs.</summary>
public static class DemoFunctions
{
    /// <summary>
    /// SomeThing{Value=20} becomes OtherThing{Value="__20__"}; built as version 2 (the live-code
    /// demo's out/samples-v2), "__20__v2". The item's format picks the codec: JSON in, JSON out;
    /// Hazelcast Compact in, Compact out (the key passes through as sent).
    /// </summary>
    [JexFunction("doThingDotnet")]
    public static OtherThing DoThing(SomeThing input) => new() { Value = $"__{input.Value}__{VersionSuffix}" };

#if JEX_SAMPLE_V2
    private const string VersionSuffix = "v2";
#else
    private const string VersionSuffix = "";
#endif
}

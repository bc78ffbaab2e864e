using Jex.UserCode;

namespace Jex.Samples;

/// <summary>JEX's demo input: a value object with one int.</summary>
public sealed class SomeThing
{
    public int Value { get; set; }

    public override string ToString() => $"SomeThing(Value={Value})";
}

/// <summary>JEX's demo output: a value object with one string.</summary>
public sealed class OtherThing
{
    public string? Value { get; set; }

    public override string ToString() => $"OtherThing(Value={Value})";
}

/// <summary>The function JEX's demo job runs.</summary>
public static class DemoFunctions
{
    /// <summary>SomeThing{Value=20} becomes OtherThing{Value="__20__"}.</summary>
    [JexFunction("doThingDotnet")]
    public static OtherThing DoThing(SomeThing input) => new() { Value = $"__{input.Value}__" };
}

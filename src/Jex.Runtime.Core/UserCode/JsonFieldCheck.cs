using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Log = Jex.Runtime.Diagnostics.Log;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Notices a class parameter none of whose properties matches a field of the JSON input: System.Text.Json
/// then binds every property to its default without a word, which looks like a bug in the function.
/// A session's items are checked until one settles it (a field matches, or the warning is logged),
/// so a session warns once and a healthy one stops checking after its first object.
/// </summary>
internal sealed class JsonFieldCheck
{
    private const int MaxFieldsNamed = 8;

    private readonly string _typeName;
    private readonly string[] _properties;
    private readonly StringComparison _comparison;

    private JsonFieldCheck(string typeName, string[] properties, bool caseInsensitive)
    {
        _typeName = typeName;
        _properties = properties;
        _comparison = caseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
    }

    /// <summary>The check for a class with properties; null for anything System.Text.Json does not bind as an object.</summary>
    public static JsonFieldCheck? For(Type type, JsonSerializerOptions options)
    {
        JsonTypeInfo info;
        try
        {
            // Locks the options with the reflection resolver, which is what serializing would do.
            options.MakeReadOnly(populateMissingResolver: true);
            info = options.GetTypeInfo(type);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // Such a type fails each item with its own error; there is nothing to check.
            return null;
        }

        if (info.Kind != JsonTypeInfoKind.Object || info.Properties.Count == 0 || info.Properties.Any(p => p.IsExtensionData))
        {
            return null;
        }

        return new JsonFieldCheck(type.Name, [.. info.Properties.Select(p => p.Name)], options.PropertyNameCaseInsensitive);
    }

    /// <summary>Checks the item unless the session has settled it already (one volatile read).</summary>
    public void Check(ReadOnlySpan<byte> data, InvocationContext context)
    {
        if (Volatile.Read(ref context.Session.JsonFieldsSettled) == 0)
        {
            CheckSlow(data, context);
        }
    }

    private void CheckSlow(ReadOnlySpan<byte> data, InvocationContext context)
    {
        var seen = new List<string>();
        var reader = new Utf8JsonReader(data);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (Array.Exists(_properties, p => string.Equals(p, name, _comparison)))
                {
                    Interlocked.Exchange(ref context.Session.JsonFieldsSettled, 1);
                    return;
                }

                seen.Add(name);
                reader.Read();
                reader.TrySkip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: binding the item reports it.
            return;
        }

        var session = context.Session;
        if (seen.Count > 0 && Interlocked.CompareExchange(ref session.JsonFieldsSettled, 1, 0) == 0)
        {
            var fields = string.Join(", ", seen.Take(MaxFieldsNamed)) + (seen.Count > MaxFieldsNamed ? $", ... ({seen.Count} fields)" : string.Empty);
            Log.JsonFieldsUnmatched(session.Logger, session.Id, session.FunctionName, _typeName, fields, string.Join(", ", _properties));
        }
    }
}

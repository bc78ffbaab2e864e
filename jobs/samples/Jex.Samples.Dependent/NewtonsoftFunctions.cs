using Jex.UserCode;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Jex.Samples.Dependent;

/// <summary>
/// A user library with its own NuGet dependency (Newtonsoft.Json), which the runtime does not
/// reference: it loads only if the runtime resolves this library's dependencies.
/// </summary>
public static class NewtonsoftFunctions
{
    /// <summary>Parses the value as JSON with Newtonsoft and adds the library's version to it.</summary>
    [JexFunction("newtonsoftTag")]
    public static string Tag(string value)
    {
        var json = JObject.Parse(value);
        json["taggedBy"] = typeof(JsonConvert).Assembly.GetName().Name + " " + typeof(JsonConvert).Assembly.GetName().Version;
        return json.ToString(Formatting.None);
    }
}

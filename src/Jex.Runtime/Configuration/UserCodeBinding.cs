using System.Text.RegularExpressions;
using Jex.Protocol.Contract;

namespace Jex.Runtime.Configuration;

/// <summary>
/// Binds the <c>UserCode</c> section into <see cref="UserCodeOptions"/> and turns every value that
/// cannot be read (a transport or log format nobody knows, a port that is not a number) into one
/// line naming the key, the value and what is allowed, instead of the binder's exception at the
/// first one. A value that cannot be read keeps its default, so the later checks still run.
/// </summary>
internal static partial class UserCodeBinding
{
    public static UserCodeOptions Bind(IConfiguration configuration, List<string> problems)
    {
        var options = new UserCodeOptions();
        Bind(configuration, options, problems);
        return options;
    }

    /// <remarks>
    /// The binder leaves <see cref="UserCodeOptions.Transport"/> and <see cref="UserCodeOptions.LogFormat"/>
    /// alone (their setters are not public): it would take "SharedMemory" or "7" and refuse
    /// "shared-memory", the other way round from what the runtime accepts. They are read here.
    /// </remarks>
    public static void Bind(IConfiguration configuration, UserCodeOptions options, List<string> problems)
    {
        var section = configuration.GetSection(UserCodeOptions.Section);
        BindWhatCanBeRead(configuration, section, options, problems);
        if (section["Transport"] is { } transport)
        {
            if (TransportKinds.TryParse(transport, out var kind))
            {
                options.Transport = kind;
            }
            else
            {
                problems.Add($"{UserCodeOptions.Section}:Transport '{transport}' is not supported; use one of: {string.Join(", ", TransportKinds.Names)}");
            }
        }

        if (section["LogFormat"] is { } logFormat)
        {
            if (LogFormats.TryParse(logFormat, out var format))
            {
                options.LogFormat = format;
            }
            else
            {
                problems.Add($"{UserCodeOptions.Section}:LogFormat '{logFormat}' is not one of {string.Join(", ", LogFormats.Names)}");
            }
        }
    }

    /// <summary>
    /// The binder stops at the first value it cannot convert; each round names one and binds again
    /// with it unset (over the configuration, which stays as it is). Only a bad setting pays for that.
    /// </summary>
    private static void BindWhatCanBeRead(IConfiguration configuration, IConfigurationSection section, UserCodeOptions options, List<string> problems)
    {
        Dictionary<string, string?>? unset = null;
        while (true)
        {
            try
            {
                section.Bind(options);
                return;
            }
            catch (InvalidOperationException e) when (FailedKey(e) is { } failed && (unset ??= new(StringComparer.OrdinalIgnoreCase)).TryAdd(failed.Path, null))
            {
                problems.Add($"{failed.Path} '{configuration[failed.Path]}' is not {Describe(failed.Type)}");
                section = new ConfigurationBuilder()
                    .AddConfiguration(configuration, shouldDisposeConfiguration: false)
                    .AddInMemoryCollection(unset)
                    .Build()
                    .GetSection(UserCodeOptions.Section);
            }
        }
    }

    private static (string Path, string Type)? FailedKey(InvalidOperationException e)
    {
        var match = FailedBinding().Match(e.Message);
        return match.Success ? (match.Groups["path"].Value, match.Groups["type"].Value) : null;
    }

    private static string Describe(string type) => type switch
    {
        "System.Int32" or "System.Nullable`1[System.Int32]" => "a whole number",
        "System.Boolean" => "true or false",
        _ => "a " + type[(type.LastIndexOf('.') + 1)..],
    };

    // The binder's own message, reflection-based and generated alike: "Failed to convert
    // configuration value [...] at 'UserCode:MaxInFlight' to type 'System.Int32'."
    [GeneratedRegex("at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex FailedBinding();
}

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

    public static void Bind(IConfiguration configuration, UserCodeOptions options, List<string> problems)
    {
        var section = configuration.GetSection(UserCodeOptions.Section);
        // Replacements for raw values: the enum member's name for a spelling the binder cannot
        // parse ("shared-memory"), null (unset) for a value that cannot be read at all.
        var replaced = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        CheckTransport(section, replaced, problems);
        CheckLogFormat(section, replaced, problems);

        // The binder stops at the first value it cannot convert; each round names one and unsets it.
        // Rebinding is harmless: the same keys get the same values again.
        while (true)
        {
            try
            {
                if (replaced.Count == 0)
                {
                    section.Bind(options);
                }
                else
                {
                    var overlay = new ConfigurationBuilder()
                        .AddConfiguration(configuration, shouldDisposeConfiguration: false)
                        .AddInMemoryCollection(replaced)
                        .Build();
                    overlay.GetSection(UserCodeOptions.Section).Bind(options);
                }
            }
            catch (InvalidOperationException e) when (FailedKey(e) is { } failed && !replaced.ContainsKey(failed.Path))
            {
                problems.Add($"{failed.Path} '{configuration[failed.Path]}' is not {Describe(failed.Type)}");
                replaced[failed.Path] = null;
                continue;
            }

            return;
        }
    }

    private static void CheckTransport(IConfigurationSection section, Dictionary<string, string?> replaced, List<string> problems)
    {
        const string Key = UserCodeOptions.Section + ":Transport";
        if (section["Transport"] is not { } raw)
        {
            return;
        }

        if (TransportKinds.TryParse(raw, out var kind))
        {
            replaced[Key] = kind.ToString();
        }
        else
        {
            problems.Add($"{Key} '{raw}' is not supported; use one of: {string.Join(", ", TransportKinds.Names)}");
            replaced[Key] = null;
        }
    }

    private static void CheckLogFormat(IConfigurationSection section, Dictionary<string, string?> replaced, List<string> problems)
    {
        const string Key = UserCodeOptions.Section + ":LogFormat";
        if (section["LogFormat"] is not { } raw)
        {
            return;
        }

        // Enum.TryParse also takes numbers ("7"), which no one means here.
        if (!LogFormats.TryParse(raw, out _))
        {
            problems.Add($"{Key} '{raw}' is not one of {string.Join(", ", LogFormats.Names)}");
            replaced[Key] = null;
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

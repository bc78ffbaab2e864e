using System.Net;
using Jex.Protocol.Contract;
using Microsoft.Extensions.Options;

namespace Jex.Runtime.Configuration;

/// <summary>
/// Checks the settings before anything starts: the host runs it at start (ValidateOnStart), and
/// jex-runtime's Main through <see cref="Validate(UserCodeOptions)"/> before the host is even built.
/// Each problem is one line that names the configuration key, the value and what is allowed, so
/// an operator can fix the job's arguments without reading code.
/// </summary>
internal sealed class UserCodeOptionsValidator : IValidateOptions<UserCodeOptions>
{
    /// <summary>The levels UserCode:LogLevel takes (Serilog's), in increasing severity.</summary>
    public static readonly IReadOnlyList<string> LogLevels = ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"];

    public const int MaxDrainTimeoutSeconds = 3600;

    public static readonly string DrainTimeoutRange = $"0..{MaxDrainTimeoutSeconds}";

    public ValidateOptionsResult Validate(string? name, UserCodeOptions options)
    {
        var errors = Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static IReadOnlyList<string> Validate(UserCodeOptions o)
    {
        var errors = new List<string>();
        // Binding refuses unknown spellings (UserCodeBinding); this catches a value set in code.
        if (!Enum.IsDefined(o.Transport))
        {
            errors.Add($"UserCode:Transport '{o.Transport}' is not supported; use one of: {string.Join(", ", TransportKinds.Names)}");
        }

        if (string.IsNullOrWhiteSpace(o.Path))
        {
            if (!o.Deploy.Enabled)
            {
                errors.Add("UserCode:Path is required: a user assembly (.dll) or a directory of them (or set UserCode:Deploy:Enabled=true to start empty and deploy later)");
            }
        }
        else if (!File.Exists(o.Path) && !Directory.Exists(o.Path))
        {
            errors.Add($"UserCode:Path '{o.Path}' does not exist");
        }

        InRange(errors, "Grpc:Port", o.Grpc.Port, 0, 65535);

        if (o.Grpc.Socket is null && !IPAddress.TryParse(o.Grpc.Address, out _) && o.Grpc.Address != "localhost")
        {
            errors.Add($"UserCode:Grpc:Address '{o.Grpc.Address}' is not an IP address");
        }

        if (o.Grpc.Socket is { } socket && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(socket)) is { } dir && !Directory.Exists(dir))
        {
            errors.Add($"UserCode:Grpc:Socket '{socket}': directory '{dir}' does not exist");
        }

        if (o.Transport == TransportKind.SharedMemory && string.IsNullOrWhiteSpace(o.Uid))
        {
            errors.Add("UserCode:Uid is required with UserCode:Transport=shared-memory");
        }

        InRange(errors, "SharedMemory:Sessions", o.SharedMemory.Sessions, 1, 64);

        if (o.SharedMemory.RingBytes is < 4096 or > (1 << 30) || (o.SharedMemory.RingBytes & (o.SharedMemory.RingBytes - 1)) != 0)
        {
            errors.Add($"UserCode:SharedMemory:RingBytes {o.SharedMemory.RingBytes} must be a power of two from 4096 to 1073741824");
        }

        if (!SharedMemoryEndpointOptions.WaitModes.Contains(o.SharedMemory.Wait?.Trim(), StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"UserCode:SharedMemory:Wait '{o.SharedMemory.Wait}' is not one of {string.Join(", ", SharedMemoryEndpointOptions.WaitModes)}: how a shared-memory reader waits (adaptive picks by core count)");
        }

        InRange(errors, "MaxInFlight", o.MaxInFlight, 1, 1024);
        if (o.MaxConcurrency is < 1 or > UserCodeOptions.MaxConcurrencyLimit)
        {
            errors.Add($"UserCode:MaxConcurrency {o.MaxConcurrency} is out of range 1..{UserCodeOptions.MaxConcurrencyLimit}: the most items of a key-ordered session running at once (default 64)");
        }
        Between(errors, "MaxBatchBytes", o.MaxBatchBytes, 1024, "MaxMessageBytes", o.MaxMessageBytes);
        AtLeast(errors, "MaxBatchItems", o.MaxBatchItems, 1);
        InRange(errors, "InitTimeoutSeconds", o.InitTimeoutSeconds, 1, 3600);
        Between(errors, "MaxInitBytes", o.MaxInitBytes, 1024, "MaxMessageBytes", o.MaxMessageBytes);
        InRange(errors, "MaxSessions", o.MaxSessions, 1, 65536);
        InRange(errors, "MaxConnections", o.MaxConnections, 1, 65536);
        InRange(errors, "StuckCallSeconds", o.StuckCallSeconds, 1, 86400);
        InRange(errors, "MaxAbandonedCalls", o.MaxAbandonedCalls, 0, 65536);
        Between(errors, "MaxAbandonedCallsPerSession", o.MaxAbandonedCallsPerSession, 0, "MaxAbandonedCalls", o.MaxAbandonedCalls);
        AtLeast(errors, "MaxMessageBytes", o.MaxMessageBytes, 4096);

        if (o.ParentPid is <= 0)
        {
            errors.Add($"UserCode:ParentPid {o.ParentPid} is not a process id");
        }

        if (o.DrainTimeoutSeconds is < 0 or > MaxDrainTimeoutSeconds)
        {
            errors.Add($"UserCode:DrainTimeoutSeconds {o.DrainTimeoutSeconds} is out of range {DrainTimeoutRange}: the seconds a stop waits for open sessions to drain");
        }

        if (!Enum.IsDefined(o.LogFormat))
        {
            errors.Add($"UserCode:LogFormat '{o.LogFormat}' is not one of {string.Join(", ", LogFormats.Names)}");
        }

        if (!LogLevels.Contains(o.LogLevel, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"UserCode:LogLevel '{o.LogLevel}' is not one of {string.Join(", ", LogLevels)}");
        }

        // Token file: both set is ambiguous; the file's own checks run when it is read (Program).
        if (!string.IsNullOrEmpty(o.Token) && !string.IsNullOrEmpty(o.TokenFile))
        {
            errors.Add($"UserCode:Token and UserCode:TokenFile '{o.TokenFile}' are both set; set only one");
        }

        ValidateDeploy(errors, o);
        errors.AddRange(ChannelSecurityRules.Validate(o));
        ValidateObservability(errors, o);
        return errors;
    }

    /// <summary>The protocols UserCode:Otlp:Protocol takes.</summary>
    public static readonly IReadOnlyList<string> OtlpProtocols = ["http/protobuf", "grpc"];

    private static void ValidateObservability(List<string> errors, UserCodeOptions o)
    {
        InRange(errors, "Metrics:Port", o.Metrics.Port, 0, 65535);
        if (o.Metrics.Prometheus && o.Metrics.Port != 0 && o.Grpc.Socket is null && o.Transport == TransportKind.Grpc && o.Metrics.Port == o.Grpc.Port)
        {
            errors.Add($"UserCode:Metrics:Port {o.Metrics.Port} is also UserCode:Grpc:Port: /metrics needs a port of its own (HTTP/1.1 beside gRPC's HTTP/2); choose another, or 0 for any free port");
        }

        if (o.Otlp.Endpoint is { Length: > 0 } endpoint
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"UserCode:Otlp:Endpoint '{endpoint}' is not an http:// or https:// URL; give the collector's address, e.g. http://127.0.0.1:4318");
        }

        if (!OtlpProtocols.Contains(o.Otlp.Protocol, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"UserCode:Otlp:Protocol '{o.Otlp.Protocol}' is not one of {string.Join(", ", OtlpProtocols)}");
        }
    }

    private static void ValidateDeploy(List<string> errors, UserCodeOptions o)
    {
        InRange(errors, "Deploy:MaxBytes", o.Deploy.MaxBytes, 1024, int.MaxValue);
        InRange(errors, "Deploy:MaxFiles", o.Deploy.MaxFiles, 1, 1_000_000);
        if (o.Deploy.Enabled && string.IsNullOrEmpty(o.Token) && string.IsNullOrEmpty(o.TokenFile))
        {
            errors.Add("UserCode:Deploy:Enabled=true needs UserCode:Token or UserCode:TokenFile: without one, anyone who reaches the listener could run code in the runtime");
        }

        if (o.Deploy.Socket is { } socket && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(socket)) is { } dir && !Directory.Exists(dir))
        {
            errors.Add($"UserCode:Deploy:Socket '{socket}': directory '{dir}' does not exist");
        }

        if (o.CodeDir is { } codeDir && File.Exists(codeDir))
        {
            errors.Add($"UserCode:CodeDir '{codeDir}' is a file; give a folder (it is created when missing)");
        }
    }

    // One rule per kind of bound, so every message names the key, the value and what is allowed the same way.
    private static void InRange(List<string> errors, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"UserCode:{key} {value} is out of range {min}..{max}");
        }
    }

    private static void AtLeast(List<string> errors, string key, int value, int min)
    {
        if (value < min)
        {
            errors.Add($"UserCode:{key} {value} must be at least {min}");
        }
    }

    /// <summary>A value bounded above by another setting, <paramref name="maxKey"/>.</summary>
    private static void Between(List<string> errors, string key, int value, int min, string maxKey, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"UserCode:{key} {value} must be between {min} and UserCode:{maxKey} ({max})");
        }
    }
}

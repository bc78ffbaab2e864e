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
            errors.Add("UserCode:Path is required: a user assembly (.dll) or a directory of them");
        }
        else if (!File.Exists(o.Path) && !Directory.Exists(o.Path))
        {
            errors.Add($"UserCode:Path '{o.Path}' does not exist");
        }

        if (o.Grpc.Port is < 0 or > 65535)
        {
            errors.Add($"UserCode:Grpc:Port {o.Grpc.Port} is out of range 0..65535");
        }

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

        if (o.SharedMemory.Sessions is < 1 or > 64)
        {
            errors.Add($"UserCode:SharedMemory:Sessions {o.SharedMemory.Sessions} is out of range 1..64");
        }

        if (o.SharedMemory.RingBytes is < 4096 or > (1 << 30) || (o.SharedMemory.RingBytes & (o.SharedMemory.RingBytes - 1)) != 0)
        {
            errors.Add($"UserCode:SharedMemory:RingBytes {o.SharedMemory.RingBytes} must be a power of two from 4096 to 1073741824");
        }

        if (o.MaxInFlight is < 1 or > 1024)
        {
            errors.Add($"UserCode:MaxInFlight {o.MaxInFlight} is out of range 1..1024");
        }

        if (o.MaxBatchBytes < 1024 || o.MaxBatchBytes > o.MaxMessageBytes)
        {
            errors.Add($"UserCode:MaxBatchBytes {o.MaxBatchBytes} must be between 1024 and UserCode:MaxMessageBytes ({o.MaxMessageBytes})");
        }

        if (o.MaxBatchItems is < 1)
        {
            errors.Add($"UserCode:MaxBatchItems {o.MaxBatchItems} must be at least 1");
        }

        if (o.InitTimeoutSeconds is < 1 or > 3600)
        {
            errors.Add($"UserCode:InitTimeoutSeconds {o.InitTimeoutSeconds} is out of range 1..3600");
        }

        if (o.MaxInitBytes < 1024 || o.MaxInitBytes > o.MaxMessageBytes)
        {
            errors.Add($"UserCode:MaxInitBytes {o.MaxInitBytes} must be between 1024 and UserCode:MaxMessageBytes ({o.MaxMessageBytes})");
        }

        if (o.MaxSessions is < 1 or > 65536)
        {
            errors.Add($"UserCode:MaxSessions {o.MaxSessions} is out of range 1..65536");
        }

        if (o.MaxConnections is < 1 or > 65536)
        {
            errors.Add($"UserCode:MaxConnections {o.MaxConnections} is out of range 1..65536");
        }

        if (o.StuckCallSeconds is < 1 or > 86400)
        {
            errors.Add($"UserCode:StuckCallSeconds {o.StuckCallSeconds} is out of range 1..86400");
        }

        if (o.MaxAbandonedCalls is < 0 or > 65536)
        {
            errors.Add($"UserCode:MaxAbandonedCalls {o.MaxAbandonedCalls} is out of range 0..65536");
        }

        if (o.MaxAbandonedCallsPerSession < 0 || o.MaxAbandonedCallsPerSession > o.MaxAbandonedCalls)
        {
            errors.Add($"UserCode:MaxAbandonedCallsPerSession {o.MaxAbandonedCallsPerSession} must be between 0 and UserCode:MaxAbandonedCalls ({o.MaxAbandonedCalls})");
        }

        if (o.MaxMessageBytes is < 4096)
        {
            errors.Add($"UserCode:MaxMessageBytes {o.MaxMessageBytes} must be at least 4096");
        }

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

        errors.AddRange(ChannelSecurityRules.Validate(o));
        return errors;
    }
}

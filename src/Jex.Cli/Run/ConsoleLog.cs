using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Jex.Cli.Run;

/// <summary>The log of the commands that drive a runtime (<c>jex run</c>, <c>jex replay</c>).</summary>
internal static class ConsoleLog
{
    /// <summary>
    /// A Serilog logger from <paramref name="level"/> up, every level on stderr so that stdout
    /// carries only the command's own output (the puts, the replay's differences).
    /// </summary>
    public static Logger Create(LogEventLevel level) => new LoggerConfiguration()
        .MinimumLevel.Is(level)
        .WriteTo.Console(
            outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
            standardErrorFromLevel: LogEventLevel.Verbose,
            formatProvider: System.Globalization.CultureInfo.InvariantCulture)
        .CreateLogger();
}

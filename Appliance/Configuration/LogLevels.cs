using Serilog.Events;

namespace Appliance.Configuration;

/// <summary>Log level names accepted by --log-level and the LogLevel setting: Serilog's names and the usual short forms.</summary>
public static class LogLevels
{
    public const string Accepted = "verbose|debug|information|warning|error|fatal";

    public static bool TryParse(string? text, out LogEventLevel level)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "verbose" or "trace":
                level = LogEventLevel.Verbose;
                return true;
            case "debug":
                level = LogEventLevel.Debug;
                return true;
            case "information" or "info":
                level = LogEventLevel.Information;
                return true;
            case "warning" or "warn":
                level = LogEventLevel.Warning;
                return true;
            case "error":
                level = LogEventLevel.Error;
                return true;
            case "fatal" or "critical":
                level = LogEventLevel.Fatal;
                return true;
            default:
                level = default;
                return false;
        }
    }
}

using Appliance.Configuration;
using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Appliance.Hosting;

/// <summary>
/// Builds the process's Serilog logger: levels and extra sinks from the "Serilog" configuration section, the console
/// sink on standard error (standard output is kept for command output such as tables and JSON), an optional file sink,
/// and --log-level / LogLevel over everything. The minimum level is a <see cref="LoggingLevelSwitch"/>, so a running
/// server can be switched to debug (request-level logs) and back without a restart (POST /loglevel on the admin port).
/// </summary>
public static class ApplianceLogging
{
    private const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";
    private const string FileTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static Logger CreateLogger(Settings settings, string? levelFlag, string? fileFlag) =>
        CreateLogger(settings, levelFlag, fileFlag, new LoggingLevelSwitch());

    /// <summary>Builds the logger with its minimum level under <paramref name="levelSwitch"/>, which this sets to the configured level.</summary>
    public static Logger CreateLogger(Settings settings, string? levelFlag, string? fileFlag, LoggingLevelSwitch levelSwitch)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .ReadFrom.Configuration(settings.Configuration)
            .Enrich.FromLogContext()
            .Filter.ByExcluding(IsHostStartFailure)
            .WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture);

        levelSwitch.MinimumLevel = ConfiguredDefaultLevel(settings);
        if (settings.Get(levelFlag, SettingKeys.LogLevel) is { } levelText)
        {
            if (!LogLevels.TryParse(levelText, out var level))
                throw new InvalidSettingException($"{SettingKeys.LogLevel}: '{levelText}' is not a log level ({LogLevels.Accepted})");
            levelSwitch.MinimumLevel = level;
        }
        // Set last, so it wins over the default level the Serilog section may have set; per-source overrides stay.
        config.MinimumLevel.ControlledBy(levelSwitch);

        if (settings.Get(fileFlag, SettingKeys.LogFile) is { } file)
            config.WriteTo.File(Path.GetFullPath(file), outputTemplate: FileTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);

        return config.CreateLogger();
    }

    /// <summary>Serilog:MinimumLevel:Default, or Serilog:MinimumLevel as a plain level, or information.</summary>
    private static LogEventLevel ConfiguredDefaultLevel(Settings settings)
    {
        var section = settings.Configuration.GetSection("Serilog:MinimumLevel");
        return LogLevels.TryParse(section["Default"] ?? section.Value, out var level) ? level : LogEventLevel.Information;
    }

    /// <summary>
    /// The generic host logs why it failed to start, then rethrows to the CLI, which reports it once: one line for an
    /// operator error, the full exception otherwise. The host's copy would print it twice, with a stack trace.
    /// </summary>
    private static bool IsHostStartFailure(LogEvent e) =>
        e.MessageTemplate.Text == "Hosting failed to start"
        && e.Properties.TryGetValue("SourceContext", out var source)
        && source is ScalarValue { Value: "Microsoft.Extensions.Hosting.Internal.Host" };
}

using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Appliance.Configuration;

/// <summary>
/// Where settings come from, weakest first: appsettings.json next to the binary, the file APPLIANCE_CONFIG names (the
/// .deb's systemd unit sets /etc/appliance/appsettings.json), appsettings.json in the working directory, then
/// APPLIANCE_* environment variables. Command-line flags win over all of them (see <see cref="Settings"/>).
/// </summary>
public static class ApplianceConfiguration
{
    public const string EnvironmentPrefix = "APPLIANCE_";
    public const string FileName = "appsettings.json";
    public const string ConfigFileVariable = "APPLIANCE_CONFIG";

    public static IConfigurationRoot Load(string workingDirectory)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, FileName), optional: true, reloadOnChange: false);
        // A named file must exist: a typo in a unit file should stop the service, not run it on defaults.
        if (Environment.GetEnvironmentVariable(ConfigFileVariable) is { Length: > 0 } named)
        {
            var path = Path.GetFullPath(named, workingDirectory);
            if (!File.Exists(path))
                throw new InvalidSettingException($"{ConfigFileVariable} names {path}, which does not exist");
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        return builder
            .AddJsonFile(Path.Combine(workingDirectory, FileName), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables(EnvironmentPrefix)
            .Build();
    }
}

/// <summary>The names of the top-level settings; the environment variable of each is APPLIANCE_ + the name in capitals.</summary>
public static class SettingKeys
{
    public const string Data = "Data";
    public const string Meta = "Meta";
    public const string Storage = "Storage";
    public const string CacheDir = "CacheDir";
    public const string CacheSize = "CacheSize";
    public const string MemoryCache = "MemoryCache";
    public const string EncryptKey = "EncryptKey";
    public const string LogLevel = "LogLevel";
    public const string LogFile = "LogFile";
    public const string Admin = "Admin";
    public const string SessionTimeout = "SessionTimeout";
}

/// <summary>One view over flags and configuration: a flag that was given wins, otherwise the configured value, otherwise null.</summary>
public sealed class Settings(IConfiguration configuration)
{
    public IConfiguration Configuration { get; } = configuration;

    public string? Get(string? flag, string key)
    {
        if (!string.IsNullOrEmpty(flag))
            return flag;
        var configured = Configuration[key];
        return string.IsNullOrWhiteSpace(configured) ? null : configured.Trim();
    }

    public long? GetSize(long? flag, string key) =>
        flag ?? (Get(null, key) is { } text ? ByteSize.Parse(text, key) : null);

    /// <summary>A duration in seconds (fractions allowed), more than zero; null when neither flag nor configuration gives one.</summary>
    public TimeSpan? GetSeconds(double? flag, string key)
    {
        var seconds = flag;
        if (seconds is null && Get(null, key) is { } text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                throw new InvalidSettingException($"{key}: '{text}' is not a number of seconds");
            seconds = parsed;
        }
        if (seconds is not { } value)
            return null;
        if (!(value > 0) || double.IsInfinity(value))
            throw new InvalidSettingException($"{key}: {value.ToString(CultureInfo.InvariantCulture)} is not a positive number of seconds");
        return TimeSpan.FromSeconds(value);
    }
}

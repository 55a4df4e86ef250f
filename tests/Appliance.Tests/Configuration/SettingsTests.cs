using Appliance.Configuration;

namespace Appliance.Tests.Configuration;

public sealed class SettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Flags_win_over_environment_which_wins_over_appsettings()
    {
        File.WriteAllText(Path.Combine(_dir, ApplianceConfiguration.FileName), """
            { "CacheDir": "/from/json", "MemoryCache": "64M" }
            """);
        // CacheDir is read by no other test in this process, so setting it here cannot disturb them.
        Environment.SetEnvironmentVariable("APPLIANCE_CACHEDIR", "/from/env");
        try
        {
            var settings = new Settings(ApplianceConfiguration.Load(_dir));

            Assert.Equal("/from/flag", settings.Get("/from/flag", SettingKeys.CacheDir));
            Assert.Equal("/from/env", settings.Get(null, SettingKeys.CacheDir));
            Assert.Equal(64L << 20, settings.GetSize(null, SettingKeys.MemoryCache));
            Assert.Equal(1L << 20, settings.GetSize(1L << 20, SettingKeys.MemoryCache));
        }
        finally
        {
            Environment.SetEnvironmentVariable("APPLIANCE_CACHEDIR", null);
        }
    }

    [Fact]
    public void A_malformed_configured_size_is_reported_with_its_name()
    {
        File.WriteAllText(Path.Combine(_dir, ApplianceConfiguration.FileName), """{ "MemoryCache": "plenty" }""");
        var settings = new Settings(ApplianceConfiguration.Load(_dir));

        var e = Assert.Throws<InvalidSettingException>(() => settings.GetSize(null, SettingKeys.MemoryCache));
        Assert.Contains("MemoryCache", e.Message);
    }

    [Fact]
    public void A_configured_session_timeout_is_seconds_and_the_flag_wins()
    {
        File.WriteAllText(Path.Combine(_dir, ApplianceConfiguration.FileName), """{ "SessionTimeout": "2.5" }""");
        var settings = new Settings(ApplianceConfiguration.Load(_dir));

        Assert.Equal(TimeSpan.FromSeconds(2.5), settings.GetSeconds(null, SettingKeys.SessionTimeout));
        Assert.Equal(TimeSpan.FromSeconds(10), settings.GetSeconds(10, SettingKeys.SessionTimeout));
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("0")]
    [InlineData("-3")]
    public void A_session_timeout_that_is_not_a_positive_number_of_seconds_is_reported_with_its_name(string configured)
    {
        File.WriteAllText(Path.Combine(_dir, ApplianceConfiguration.FileName), $$"""{ "SessionTimeout": "{{configured}}" }""");
        var settings = new Settings(ApplianceConfiguration.Load(_dir));

        var e = Assert.Throws<InvalidSettingException>(() => settings.GetSeconds(null, SettingKeys.SessionTimeout));
        Assert.Contains("SessionTimeout", e.Message);
    }

    [Fact]
    public void Empty_configured_values_count_as_not_set()
    {
        File.WriteAllText(Path.Combine(_dir, ApplianceConfiguration.FileName), """{ "Storage": "  " }""");
        var settings = new Settings(ApplianceConfiguration.Load(_dir));

        Assert.Null(settings.Get(null, SettingKeys.Storage));
    }

    [Theory]
    [InlineData("redis://:hunter2@db:6379/1", "redis://:****@db:6379/1")]
    [InlineData("redis://admin:hunter2@db:6379/1", "redis://admin:****@db:6379/1")]
    [InlineData("sqlite:///var/lib/appliance/meta.db", "sqlite:///var/lib/appliance/meta.db")]
    public void Passwords_in_urls_are_masked_for_display(string url, string shown) => Assert.Equal(shown, UrlDisplay.Redact(url));
}

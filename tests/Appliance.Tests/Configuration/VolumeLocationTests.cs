using Appliance.Configuration;

namespace Appliance.Tests.Configuration;

public sealed class VolumeLocationTests
{
    private const string WorkingDirectory = "/srv/work";

    [Fact]
    public void With_nothing_given_everything_lives_under_data_in_the_working_directory()
    {
        var location = VolumeLocation.Resolve(null, null, null, null, WorkingDirectory);

        Assert.Equal("/srv/work/data", location.DataDirectory);
        Assert.Equal("sqlite:///srv/work/data/meta.db", location.MetaUrl);
        Assert.Equal("file:///srv/work/data/objects", location.StorageUrl);
        Assert.Equal("/srv/work/data/cache", location.CacheDirectory);
        Assert.False(location.StorageGiven);
        Assert.True(location.UsesDataDirectory);
    }

    [Theory]
    [InlineData("vol", "/srv/work/vol")]
    [InlineData("./vol/", "/srv/work/vol")]
    [InlineData("/var/lib/appliance", "/var/lib/appliance")]
    [InlineData("../elsewhere", "/srv/elsewhere")]
    public void Data_directory_moves_every_default_with_it(string data, string expected)
    {
        var location = VolumeLocation.Resolve(data, null, null, null, WorkingDirectory);

        Assert.Equal(expected, location.DataDirectory);
        Assert.Equal($"sqlite://{expected}/meta.db", location.MetaUrl);
        Assert.Equal($"file://{expected}/objects", location.StorageUrl);
        Assert.Equal($"{expected}/cache", location.CacheDirectory);
    }

    [Fact]
    public void Given_urls_override_the_data_defaults_one_by_one()
    {
        var location = VolumeLocation.Resolve("/d", "redis://cache:6379/1", null, null, WorkingDirectory);

        Assert.Equal("redis://cache:6379/1", location.MetaUrl);
        Assert.Equal("file:///d/objects", location.StorageUrl);
        Assert.False(location.StorageGiven);
        Assert.True(location.UsesDataDirectory);
    }

    [Fact]
    public void When_everything_is_given_the_data_directory_is_not_needed()
    {
        var location = VolumeLocation.Resolve(null, "sqlite:///m.db", "s3://bucket/vol", "cache", WorkingDirectory);

        Assert.True(location.StorageGiven);
        Assert.Equal("s3://bucket/vol", location.StorageUrl);
        Assert.Equal("/srv/work/cache", location.CacheDirectory);
        Assert.False(location.UsesDataDirectory);
    }
}

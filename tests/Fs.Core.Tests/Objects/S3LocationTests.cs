using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Objects;

public sealed class S3LocationTests
{
    [Fact]
    public void ABareBucketIsAwsWithVirtualHostedAddressing()
    {
        var location = S3Location.Parse("s3://my-bucket");
        Assert.Equal("my-bucket", location.Bucket);
        Assert.Equal("", location.Prefix);
        Assert.Null(location.Endpoint);
        Assert.Null(location.Region);
        Assert.False(location.PathStyle);
        Assert.Equal("s3://my-bucket", location.ToString());
    }

    [Fact]
    public void EveryPartIsRead()
    {
        var location = S3Location.Parse("s3://data.example/volumes/one/?endpoint=https%3A%2F%2Fminio.lan%3A9000&region=eu-west-3&path-style=false");
        Assert.Equal("data.example", location.Bucket);
        Assert.Equal("volumes/one/", location.Prefix);
        Assert.Equal(new Uri("https://minio.lan:9000"), location.Endpoint);
        Assert.Equal("eu-west-3", location.Region);
        Assert.False(location.PathStyle);
        Assert.Equal("s3://data.example/volumes/one/chunks/0/0/1_0_4", location.NameOf("chunks/0/0/1_0_4"));
    }

    [Fact]
    public void AnEndpointDefaultsToPathStyleAndTheCanonicalFormRoundTrips()
    {
        var location = S3Location.Parse("s3://bucket/prefix?endpoint=http://127.0.0.1:4568");
        Assert.True(location.PathStyle);
        Assert.Equal("prefix/", location.Prefix);
        Assert.Equal("s3://bucket/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A4568", location.ToString());
        Assert.Equal(location, S3Location.Parse(location.ToString()));
        var virtualHosted = S3Location.Parse("s3://bucket?endpoint=http://s3.lan&path-style=false");
        Assert.Equal(virtualHosted, S3Location.Parse(virtualHosted.ToString()));
    }

    [Theory]
    [InlineData("s3://", "bucket")]
    [InlineData("s3://ab", "bucket")]
    [InlineData("s3://Upper", "bucket")]
    [InlineData("s3://under_score", "bucket")]
    [InlineData("s3://-dash", "bucket")]
    [InlineData("s3://bucket/../x", "prefix")]
    [InlineData("s3://bucket//x", "prefix")]
    [InlineData("s3://bucket?endpoint=ftp://host", "endpoint")]
    [InlineData("s3://bucket?endpoint=not a url", "endpoint")]
    [InlineData("s3://bucket?path-style=yes", "path-style")]
    [InlineData("s3://bucket?region=", "region")]
    [InlineData("s3://bucket?retries=3", "unknown parameter 'retries'")]
    [InlineData("s3://bucket?region=a&region=b", "twice")]
    public void BadUrlsAreRefusedSayingWhatIsWrong(string url, string complaint)
    {
        var error = Assert.Throws<VolumeException>(() => S3Location.Parse(url));
        Assert.Contains(complaint, error.Message);
    }

    [Fact]
    public void CredentialsInTheUrlAreRefusedWithoutEchoingThem()
    {
        var error = Assert.Throws<VolumeException>(() => ObjectStores.Open("s3://AKIAEXAMPLE:s3cr3t@bucket/prefix"));
        Assert.DoesNotContain("s3cr3t", error.Message);
        Assert.Contains("AWS_ACCESS_KEY_ID", error.Message);
    }

    [Fact]
    public void UnsupportedSchemesNameBothSupportedStores()
    {
        var error = Assert.Throws<VolumeException>(() => ObjectStores.Open("gs://bucket"));
        Assert.Contains("file://", error.Message);
        Assert.Contains("s3://", error.Message);
    }
}

/// <summary>Runs alone: it empties the process environment's AWS credentials that the s3rver fixtures put there.</summary>
[CollectionDefinition(nameof(AwsEnvironmentCollection), DisableParallelization = true)]
public sealed class AwsEnvironmentCollection;

[Collection(nameof(AwsEnvironmentCollection))]
public sealed class S3CredentialTests
{
    private static readonly string[] Variables =
    [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    ];

    [Fact]
    public void AnEndpointWithNoCredentialsAnywhereFailsWithAClearMessage()
    {
        using var profiles = new ScratchDirectory();
        var saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var variable in Variables)
                Environment.SetEnvironmentVariable(variable, null);
            // No profile files and no instance role: the whole chain comes up empty, quickly.
            Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", Path.Combine(profiles.Path, "credentials"));
            Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", Path.Combine(profiles.Path, "config"));
            Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");

            var error = Assert.Throws<VolumeException>(() => ObjectStores.Open("s3://bucket?endpoint=http://127.0.0.1:1"));
            Assert.Contains("no AWS credentials", error.Message);
            Assert.Contains("s3://bucket", error.Message);
            Assert.Contains("AWS_ACCESS_KEY_ID", error.Message);
        }
        finally
        {
            foreach (var (variable, value) in saved)
                Environment.SetEnvironmentVariable(variable, value);
        }
    }
}

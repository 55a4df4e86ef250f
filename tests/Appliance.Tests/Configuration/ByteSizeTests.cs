using Appliance.Configuration;

namespace Appliance.Tests.Configuration;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("4M", 4L << 20)]
    [InlineData("64K", 64L << 10)]
    [InlineData("1G", 1L << 30)]
    [InlineData("2t", 2L << 40)]
    [InlineData("4194304", 4194304)]
    [InlineData("4MiB", 4L << 20)]
    [InlineData("4MB", 4L << 20)]
    [InlineData("512b", 512)]
    [InlineData(" 10G ", 10L << 30)]
    [InlineData("0", 0)]
    public void Parses_bytes_and_binary_suffixes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("4X")]
    [InlineData("-1")]
    [InlineData("1.5G")]
    [InlineData("4 M")]
    [InlineData("4MiBs")]
    [InlineData("9999999999999E")]
    [InlineData("99999999999999999999")]
    public void Rejects_what_is_not_a_size(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Fact]
    public void Parse_names_the_setting_in_its_error()
    {
        var e = Assert.Throws<InvalidSettingException>(() => ByteSize.Parse("lots", "CacheSize"));
        Assert.Contains("CacheSize", e.Message);
        Assert.Contains("lots", e.Message);
    }

    [Theory]
    [InlineData(4L << 20, "4M")]
    [InlineData(64L << 10, "64K")]
    [InlineData(1536, "1536")]
    [InlineData(3L << 30, "3G")]
    [InlineData(0, "0")]
    public void Formats_the_shortest_exact_form(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.Format(bytes));
        Assert.True(ByteSize.TryParse(ByteSize.Format(bytes), out var back));
        Assert.Equal(bytes, back);
    }
}

namespace Protocols.WebDav.Tests;

public sealed class DavPathTests
{
    [Theory]
    [InlineData("/a/b/c.txt", new[] { "a", "b", "c.txt" })]
    [InlineData("/a//b/", new[] { "a", "b" })]
    [InlineData("/caf%C3%A9/x%20y", new[] { "café", "x y" })]
    [InlineData("/a%3Cb%3E?query=1", new[] { "a<b>" })]
    [InlineData("/", new string[0])]
    public void Safe_paths_decode_once(string raw, string[] names) => Assert.Equal(names, DavPath.Parse(raw, "/")!.Names);

    [Fact]
    public void Percent_sequences_are_decoded_only_once()
    {
        Assert.Equal(["%2e%2e"], DavPath.Parse("/%252e%252e", "/")!.Names);
    }

    [Theory]
    [InlineData("/../etc/passwd")]
    [InlineData("/a/../../b")]
    [InlineData("/a/./b")]
    [InlineData("/%2e%2e/etc")]
    [InlineData("/%2E%2E/etc")]
    [InlineData("/a%2fb")]
    [InlineData("/a%2Fb")]
    [InlineData("/a%5cb")]
    [InlineData("/a\\b")]
    [InlineData("/a%00b")]
    [InlineData("/a%zz")]
    [InlineData("/a%")]
    [InlineData("/%C3%28")]
    [InlineData("/frag/#ment")]
    [InlineData("relative")]
    public void Unsafe_paths_are_refused(string raw) => Assert.Null(DavPath.Parse(raw, "/"));

    [Fact]
    public void Paths_outside_the_prefix_are_refused_and_the_prefix_without_slash_is_the_root()
    {
        Assert.Null(DavPath.Parse("/other/x", "/dav/"));
        Assert.True(DavPath.Parse("/dav", "/dav/")!.IsRoot);
        Assert.Equal(["x"], DavPath.Parse("/dav/x", "/dav/")!.Names);
    }

    [Fact]
    public void Hrefs_escape_every_name_and_mark_collections()
    {
        var path = DavPath.Root.Child("a b").Child("<script>&");
        Assert.Equal("/dav/a%20b/%3Cscript%3E%26/", path.ToHref("/dav/", collection: true));
        Assert.Equal(path, DavPath.Parse(path.ToHref("/dav/", false), "/dav/"));
    }

    [Fact]
    public void Prefixes_are_normalised()
    {
        Assert.Equal("/", DavPath.NormalizePrefix(""));
        Assert.Equal("/dav/", DavPath.NormalizePrefix("dav"));
        Assert.Equal("/dav/x/", DavPath.NormalizePrefix("/dav/x/"));
    }
}

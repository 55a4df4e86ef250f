namespace Protocols.WebDav.Tests;

public sealed class IfHeaderTests
{
    [Fact]
    public void Untagged_lists_with_tokens_etags_and_not_parse_in_order()
    {
        var header = IfHeader.Parse("(<opaquelocktoken:a> [\"e1\"]) (Not <DAV:no-lock> [W/\"e2\"])")!;
        Assert.Equal(2, header.Lists.Count);
        Assert.All(header.Lists, l => Assert.Null(l.Resource));
        Assert.Equal(new IfCondition(false, "opaquelocktoken:a", null), header.Lists[0].Conditions[0]);
        Assert.Equal(new IfCondition(false, null, "\"e1\""), header.Lists[0].Conditions[1]);
        Assert.Equal(new IfCondition(true, "DAV:no-lock", null), header.Lists[1].Conditions[0]);
        Assert.Equal(new IfCondition(false, null, "W/\"e2\""), header.Lists[1].Conditions[1]);
    }

    [Fact]
    public void Tagged_lists_apply_to_their_resource()
    {
        var header = IfHeader.Parse("<http://h/a> (<opaquelocktoken:x>) (<opaquelocktoken:y>) </b> ([\"t\"])")!;
        Assert.Equal(["http://h/a", "http://h/a", "/b"], header.Lists.Select(l => l.Resource));
        Assert.Equal(["opaquelocktoken:x", "opaquelocktoken:y"], header.SubmittedTokens);
    }

    [Fact]
    public void Tokens_under_not_are_not_submitted()
    {
        var header = IfHeader.Parse("(Not <opaquelocktoken:x>) (<opaquelocktoken:y>)")!;
        Assert.Equal(["opaquelocktoken:y"], header.SubmittedTokens);
    }

    [Fact]
    public void Etags_may_hold_brackets_inside_their_quotes()
    {
        var header = IfHeader.Parse("([\"a]b\"])")!;
        Assert.Equal("\"a]b\"", header.Lists[0].Conditions[0].ETag);
    }

    [Theory]
    [InlineData("")]
    [InlineData("()")]
    [InlineData("(<a>")]
    [InlineData("<http://h/a>")]
    [InlineData("(<a>) <http://h/b> (<c>)")]
    [InlineData("<http://h/b> (<c>) (<d>) x")]
    [InlineData("([noquotes])")]
    [InlineData("(Not)")]
    [InlineData("opaquelocktoken:a")]
    public void Malformed_headers_are_refused(string value) => Assert.Null(IfHeader.Parse(value));

    [Fact]
    public void Weak_etags_never_match_strongly()
    {
        Assert.True(IfHeader.ETagMatches("\"x\"", "\"x\""));
        Assert.False(IfHeader.ETagMatches("W/\"x\"", "\"x\""));
        Assert.False(IfHeader.ETagMatches("\"x\"", null));
    }
}

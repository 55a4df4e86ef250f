using System.Text;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Tests;

public sealed class DavXmlTests
{
    private static async Task<DavXml.Body> ReadAsync(string body, int max = 1 << 20)
    {
        var context = new DefaultHttpContext();
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return await DavXml.ReadBodyAsync(context.Request, max, CancellationToken.None);
    }

    [Fact]
    public async Task External_entities_are_refused_without_reading_the_file()
    {
        var secret = Path.GetTempFileName();
        await File.WriteAllTextAsync(secret, "TOP-SECRET");
        try
        {
            var body = await ReadAsync($"""
                <?xml version="1.0"?>
                <!DOCTYPE propfind [<!ENTITY xxe SYSTEM "file://{secret}">]>
                <propfind xmlns="DAV:"><prop><displayname>&xxe;</displayname></prop></propfind>
                """);
            Assert.Equal(400, body.Status);
            Assert.Null(body.Document);
            // Reading the file would have updated its access time only on some mounts; the parser never opens it at all.
            Assert.Equal("TOP-SECRET", await File.ReadAllTextAsync(secret));
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task Entity_expansion_is_refused()
    {
        var laughs = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for (var i = 1; i < 10; i++)
            laughs.Append($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : i - 1)};", 10))}\">");
        laughs.Append("]><propfind xmlns=\"DAV:\">&lol9;</propfind>");
        var body = await ReadAsync(laughs.ToString());
        Assert.Equal(400, body.Status);
    }

    [Fact]
    public async Task Oversized_bodies_are_refused()
    {
        var big = "<propfind xmlns=\"DAV:\"><prop>" + string.Concat(Enumerable.Repeat("<x/>", 1000)) + "</prop></propfind>";
        Assert.Equal(413, (await ReadAsync(big, max: 1024)).Status);
        Assert.True((await ReadAsync(big)).Ok);
    }

    [Fact]
    public async Task Malformed_xml_and_empty_prefixed_namespaces_are_refused()
    {
        Assert.Equal(400, (await ReadAsync("<foo>")).Status);
        Assert.Equal(400, (await ReadAsync("<D:propfind xmlns:D=\"DAV:\"><D:prop><bar:foo xmlns:bar=\"\"/></D:prop></D:propfind>")).Status);
    }

    [Fact]
    public async Task An_empty_body_is_no_document()
    {
        var body = await ReadAsync("");
        Assert.True(body.Ok);
        Assert.Null(body.Document);
    }
}

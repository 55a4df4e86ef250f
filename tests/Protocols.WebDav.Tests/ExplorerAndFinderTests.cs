using System.Net;
using System.Text;
using System.Xml.Linq;
using Fs.Core.Vfs;

namespace Protocols.WebDav.Tests;

/// <summary>The request sequences Windows Explorer and macOS Finder send, replayed with their status codes and the volume state they leave.</summary>
public sealed class ExplorerAndFinderTests
{
    private static readonly XNamespace D = "DAV:";

    private const string ExplorerPropfind = """
        <?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop><D:name/><D:parentname/><D:href/><D:ishidden/>
        <D:isreadonly/><D:getcontenttype/><D:contentclass/><D:getcontentlanguage/><D:creationdate/><D:lastaccessed/>
        <D:getlastmodified/><D:getcontentlength/><D:iscollection/><D:isstructureddocument/><D:defaultdocument/><D:displayname/>
        <D:isroot/><D:resourcetype/></D:prop></D:propfind>
        """;

    private const string FinderPropfind = """
        <?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/><D:getcontentlength/>
        <D:creationdate/><D:resourcetype/><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>
        """;

    [Fact]
    public async Task Explorer_connects_creates_locks_writes_patches_and_unlocks()
    {
        await using var dav = await DavServer.StartAsync(new WebDavOptions { Prefix = "/share" });

        var options = await dav.Client.SendAsync(DavServer.Request("OPTIONS", "/"));
        Assert.Equal(HttpStatusCode.OK, options.StatusCode);
        Assert.Equal("1, 2", options.Headers.GetValues("DAV").Single());
        Assert.Equal("DAV", options.Headers.GetValues("MS-Author-Via").Single());
        Assert.Contains("PROPPATCH", options.Content.Headers.Allow);

        var root = await dav.SendAsync("PROPFIND", "/share/", ExplorerPropfind, ("Depth", "0"));
        Assert.Equal((HttpStatusCode)207, root.StatusCode);
        var rootXml = XDocument.Parse(await root.Content.ReadAsStringAsync());
        Assert.NotNull(rootXml.Descendants(D + "collection").SingleOrDefault());
        Assert.Contains(rootXml.Descendants(D + "status"), s => s.Value.Contains("404"));

        Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/share/Docs")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/share/Docs/New Text Document.txt", [])).StatusCode);

        var lockBody = """
            <?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
            <D:locktype><D:write/></D:locktype><D:owner><D:href>DESKTOP\alice</D:href></D:owner></D:lockinfo>
            """;
        var locked = await dav.SendAsync("LOCK", "/share/Docs/New%20Text%20Document.txt", lockBody, ("Timeout", "Second-3600"), ("Depth", "0"));
        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        var token = locked.Headers.GetValues("Lock-Token").Single().Trim('<', '>');
        var lockXml = XDocument.Parse(await locked.Content.ReadAsStringAsync());
        Assert.Equal(token, lockXml.Descendants(D + "locktoken").Single().Element(D + "href")!.Value);
        Assert.Contains("DESKTOP\\alice", lockXml.Descendants(D + "owner").Single().Value);

        // Without the token the write is refused; with it (as Explorer sends it) it goes through and replaces the content.
        Assert.Equal((HttpStatusCode)423, (await dav.PutAsync("/share/Docs/New%20Text%20Document.txt", "nope"u8.ToArray())).StatusCode);
        var put = await dav.PutAsync("/share/Docs/New%20Text%20Document.txt", "hello from explorer"u8.ToArray(), ("If", $"(<{token}>)"));
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);

        var patch = $"""
            <?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
            <Z:Win32CreationTime>Mon, 01 Jan 2024 10:00:00 GMT</Z:Win32CreationTime>
            <Z:Win32LastAccessTime>Tue, 02 Jan 2024 10:00:00 GMT</Z:Win32LastAccessTime>
            <Z:Win32LastModifiedTime>Wed, 03 Jan 2024 10:00:00 GMT</Z:Win32LastModifiedTime>
            <Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>
            """;
        var patched = await dav.SendAsync("PROPPATCH", "/share/Docs/New%20Text%20Document.txt", patch, ("If", $"(<{token}>)"));
        Assert.Equal((HttpStatusCode)207, patched.StatusCode);
        var patchXml = XDocument.Parse(await patched.Content.ReadAsStringAsync());
        Assert.All(patchXml.Descendants(D + "status"), s => Assert.Contains("200", s.Value));

        // Explorer sends the token without angle brackets.
        var unlocked = await dav.Client.SendAsync(DavServer.Request("UNLOCK", "/share/Docs/New%20Text%20Document.txt", null, ("Lock-Token", token)));
        Assert.Equal(HttpStatusCode.NoContent, unlocked.StatusCode);

        Assert.Equal("hello from explorer", Encoding.UTF8.GetString(await dav.ReadAsync("/Docs/New Text Document.txt")));
        var attr = (await dav.LookupAsync("/Docs/New Text Document.txt")).Value;
        Assert.Equal(new DateTime(2024, 1, 3, 10, 0, 0, DateTimeKind.Utc), UnixTime.ToDateTime(attr.Mtime));
        Assert.Equal(new DateTime(2024, 1, 2, 10, 0, 0, DateTimeKind.Utc), UnixTime.ToDateTime(attr.Atime));
        Assert.Empty(await dav.Fs.Locks.GetLocksAsync(attr.Ino));

        var props = await dav.SendAsync("PROPFIND", "/share/Docs/New%20Text%20Document.txt",
            "<propfind xmlns='DAV:'><prop><Win32FileAttributes xmlns='urn:schemas-microsoft-com:'/><getcontentlength/></prop></propfind>", ("Depth", "0"));
        var propsXml = XDocument.Parse(await props.Content.ReadAsStringAsync());
        Assert.Equal("00000020", propsXml.Descendants(XName.Get("Win32FileAttributes", "urn:schemas-microsoft-com:")).Single().Value);
        Assert.Equal("19", propsXml.Descendants(D + "getcontentlength").Single().Value);

        // Rename and delete, as Explorer does them.
        var moved = await dav.SendAsync("MOVE", "/share/Docs/New%20Text%20Document.txt", null,
            ("Destination", new Uri(dav.BaseUri, "Docs/notes.txt").ToString()), ("Overwrite", "F"));
        Assert.Equal(HttpStatusCode.Created, moved.StatusCode);
        Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/Docs/New Text Document.txt")).Error);
        Assert.Equal("hello from explorer", Encoding.UTF8.GetString(await dav.ReadAsync("/Docs/notes.txt")));
        Assert.Equal(HttpStatusCode.NoContent, (await dav.SendAsync("DELETE", "/share/Docs/notes.txt")).StatusCode);
        Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/Docs/notes.txt")).Error);
    }

    [Fact]
    public async Task Finder_connects_lists_copies_in_renames_and_deletes()
    {
        await using var dav = await DavServer.StartAsync();

        Assert.Equal(HttpStatusCode.OK, (await dav.SendAsync("OPTIONS", "/")).StatusCode);
        var root = await dav.SendAsync("PROPFIND", "/", FinderPropfind, ("Depth", "0"));
        Assert.Equal((HttpStatusCode)207, root.StatusCode);
        var rootXml = XDocument.Parse(await root.Content.ReadAsStringAsync());
        var available = long.Parse(rootXml.Descendants(D + "quota-available-bytes").Single().Value);
        Assert.True(available > 0);
        Assert.NotNull(rootXml.Descendants(D + "quota-used-bytes").SingleOrDefault());
        Assert.EndsWith("GMT", rootXml.Descendants(D + "getlastmodified").Single().Value);

        // Finder probes for resource forks and folder settings that do not exist: plain 404s.
        Assert.Equal(HttpStatusCode.NotFound, (await dav.SendAsync("PROPFIND", "/._.", FinderPropfind, ("Depth", "0"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dav.SendAsync("PROPFIND", "/.DS_Store", FinderPropfind, ("Depth", "0"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dav.Client.GetAsync("/._photo.jpg")).StatusCode);

        // Finder uploads chunked with the real length in X-Expected-Entity-Length; the name arrives decomposed (NFD) and stays so.
        var name = "Cafe\u0301.jpg";
        var content = new byte[300_000];
        Random.Shared.NextBytes(content);
        var request = DavServer.Request("PUT", "/" + Uri.EscapeDataString(name), null, ("X-Expected-Entity-Length", content.Length.ToString()));
        request.Content = new StreamContent(new MemoryStream(content));
        request.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.Created, (await dav.Client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/._" + Uri.EscapeDataString(name), [0, 5, 22, 7])).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/.DS_Store", [1, 2, 3])).StatusCode);
        Assert.Equal(content, await dav.ReadAsync("/" + name));
        Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/Caf\u00e9.jpg")).Error);

        var listing = await dav.SendAsync("PROPFIND", "/", FinderPropfind, ("Depth", "1"));
        var listingXml = XDocument.Parse(await listing.Content.ReadAsStringAsync());
        var hrefs = listingXml.Descendants(D + "href").Select(h => Uri.UnescapeDataString(h.Value)).ToList();
        Assert.Equal(new[] { "/", "/" + name, "/._" + name, "/.DS_Store" }.Order(StringComparer.Ordinal), hrefs.Order(StringComparer.Ordinal));
        Assert.Contains(listingXml.Descendants(D + "getcontentlength"), e => e.Value == content.Length.ToString());

        var renamed = await dav.SendAsync("MOVE", "/" + Uri.EscapeDataString(name), null, ("Destination", new Uri(dav.BaseUri, "holiday.jpg").ToString()));
        Assert.Equal(HttpStatusCode.Created, renamed.StatusCode);
        Assert.Equal(content, await dav.ReadAsync("/holiday.jpg"));
        var get = await dav.Client.GetAsync("/holiday.jpg");
        Assert.Equal("image/jpeg", get.Content.Headers.ContentType!.MediaType);
        Assert.Equal(content, await get.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await dav.SendAsync("DELETE", "/holiday.jpg")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await dav.SendAsync("DELETE", "/._" + Uri.EscapeDataString(name))).StatusCode);
        Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/holiday.jpg")).Error);
        Assert.Equal(Errno.OK, (await dav.LookupAsync("/.DS_Store")).Error);
    }
}

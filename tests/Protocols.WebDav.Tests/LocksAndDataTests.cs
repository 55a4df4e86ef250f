using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;
using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Protocols.WebDav.Tests;

/// <summary>Locks shared with the other doors through the lock manager, and data visible through the Vfs as soon as a request returns.</summary>
public sealed class LocksAndDataTests
{
    private const string ExclusiveLock = "<lockinfo xmlns='DAV:'><lockscope><exclusive/></lockscope><locktype><write/></locktype><owner>me</owner></lockinfo>";

    private static LockOwner NfsOwner => new(1, LockDoor.Nfs, "10.0.0.7", 42);

    [Fact]
    public async Task A_webdav_exclusive_lock_stops_a_posix_write_lock_of_another_door()
    {
        await using var dav = await DavServer.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/f.txt", "x"u8.ToArray())).StatusCode);
        var locked = await dav.SendAsync("LOCK", "/f.txt", ExclusiveLock, ("Depth", "0"));
        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        var ino = (await dav.LookupAsync("/f.txt")).Value.Ino;

        Assert.Equal(Errno.EAGAIN, await dav.Fs.Locks.SetPosixAsync(ino, NfsOwner, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 1));

        var token = locked.Headers.GetValues("Lock-Token").Single();
        Assert.Equal(HttpStatusCode.NoContent, (await dav.SendAsync("UNLOCK", "/f.txt", null, ("Lock-Token", token))).StatusCode);
        Assert.Equal(Errno.OK, await dav.Fs.Locks.SetPosixAsync(ino, NfsOwner, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 1));
    }

    [Fact]
    public async Task A_posix_write_lock_makes_webdav_lock_answer_423()
    {
        await using var dav = await DavServer.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/f.txt", "x"u8.ToArray())).StatusCode);
        var ino = (await dav.LookupAsync("/f.txt")).Value.Ino;
        Assert.Equal(Errno.OK, await dav.Fs.Locks.SetPosixAsync(ino, NfsOwner, LockMode.Exclusive, 0, 10, wait: false, pid: 1));

        Assert.Equal((HttpStatusCode)423, (await dav.SendAsync("LOCK", "/f.txt", ExclusiveLock, ("Depth", "0"))).StatusCode);

        await dav.Fs.Locks.UnlockPosixAsync(ino, NfsOwner, 0, 10);
        Assert.Equal(HttpStatusCode.OK, (await dav.SendAsync("LOCK", "/f.txt", ExclusiveLock, ("Depth", "0"))).StatusCode);
    }

    [Fact]
    public async Task A_depth_infinity_lock_covers_members_and_a_lock_on_an_unmapped_url_creates_an_empty_file()
    {
        await using var dav = await DavServer.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/dir")).StatusCode);
        var locked = await dav.SendAsync("LOCK", "/dir/", ExclusiveLock, ("Depth", "infinity"), ("Timeout", "Second-100000000"));
        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        var token = locked.Headers.GetValues("Lock-Token").Single().Trim('<', '>');
        var xml = XDocument.Parse(await locked.Content.ReadAsStringAsync());
        var timeout = xml.Descendants(XName.Get("timeout", "DAV:")).Single().Value;
        Assert.True(long.Parse(timeout["Second-".Length..]) <= TimeSpan.FromDays(1).TotalSeconds, timeout);

        Assert.Equal((HttpStatusCode)423, (await dav.PutAsync("/dir/new.txt", "x"u8.ToArray())).StatusCode);
        Assert.Equal((HttpStatusCode)423, (await dav.SendAsync("LOCK", "/dir/member.txt", ExclusiveLock, ("Depth", "0"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/dir/new.txt", "x"u8.ToArray(), ("If", $"(<{token}>)"))).StatusCode);

        // Refresh through a member, naming the collection's token with no body.
        var refreshed = await dav.SendAsync("LOCK", "/dir/new.txt", null, ("If", $"(<{token}>)"), ("Timeout", "Second-60"));
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Contains("Second-6", await refreshed.Content.ReadAsStringAsync());

        var unmapped = await dav.SendAsync("LOCK", "/lock-null.txt", ExclusiveLock, ("Depth", "0"));
        Assert.Equal(HttpStatusCode.Created, unmapped.StatusCode);
        Assert.Equal(0, (await dav.LookupAsync("/lock-null.txt")).Value.Size);
    }

    [Fact]
    public async Task If_header_conditions_give_412_and_missing_tokens_423()
    {
        await using var dav = await DavServer.StartAsync();
        var created = await dav.PutAsync("/f.txt", "one"u8.ToArray());
        var etag = created.Headers.ETag!.Tag;
        var token = (await dav.SendAsync("LOCK", "/f.txt", ExclusiveLock, ("Depth", "0"))).Headers.GetValues("Lock-Token").Single().Trim('<', '>');

        Assert.Equal(HttpStatusCode.PreconditionFailed, (await dav.PutAsync("/f.txt", "x"u8.ToArray(), ("If", $"(<{token}> [\"bogus\"])"))).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await dav.PutAsync("/f.txt", "x"u8.ToArray(), ("If", "(<DAV:no-lock>)"))).StatusCode);
        Assert.Equal((HttpStatusCode)423, (await dav.PutAsync("/f.txt", "x"u8.ToArray(), ("If", $"(<{token}x>) (Not <DAV:no-lock>)"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await dav.PutAsync("/f.txt", "x"u8.ToArray(), ("If", "(<unterminated"))).StatusCode);
        var tagged = $"<{new Uri(dav.BaseUri, "f.txt")}> (<{token}> [{etag}])";
        Assert.Equal(HttpStatusCode.NoContent, (await dav.PutAsync("/f.txt", "two"u8.ToArray(), ("If", tagged))).StatusCode);
        Assert.Equal("two", Encoding.UTF8.GetString(await dav.ReadAsync("/f.txt")));
        // The file was written in place: its lock is still there.
        Assert.Single(await dav.Fs.Locks.GetLocksAsync((await dav.LookupAsync("/f.txt")).Value.Ino));
    }

    [Fact]
    public async Task A_put_is_readable_through_the_vfs_when_it_returns_and_an_aborted_put_leaves_the_old_content()
    {
        await using var dav = await DavServer.StartAsync();
        var first = Encoding.UTF8.GetBytes(new string('a', 100_000));
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/data.bin", first)).StatusCode);
        Assert.Equal(first, await dav.ReadAsync("/data.bin"));
        var second = Encoding.UTF8.GetBytes(new string('b', 5_000));
        Assert.Equal(HttpStatusCode.NoContent, (await dav.PutAsync("/data.bin", second)).StatusCode);
        Assert.Equal(second, await dav.ReadAsync("/data.bin"));

        await RawHttp.AbortedPutAsync(dav.BaseUri, "/data.bin", 1_000_000, new byte[64 * 1024]);
        // The server notices the abort asynchronously; until then and after, the old content is what is read.
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(second, await dav.ReadAsync("/data.bin"));
            var names = await ListRootAsync(dav);
            if (names.SequenceEqual(["data.bin"]))
                break;
            await Task.Delay(100);
        }
        Assert.Equal(["data.bin"], await ListRootAsync(dav));
        Assert.Equal(second, await dav.ReadAsync("/data.bin"));
    }

    [Fact]
    public async Task Dead_properties_survive_a_put_that_replaces_the_file()
    {
        await using var dav = await DavServer.StartAsync();
        await dav.PutAsync("/p.txt", "1"u8.ToArray());
        var patch = "<propertyupdate xmlns='DAV:'><set><prop><color xmlns='urn:x'>blue</color></prop></set></propertyupdate>";
        Assert.Equal((HttpStatusCode)207, (await dav.SendAsync("PROPPATCH", "/p.txt", patch)).StatusCode);
        await dav.PutAsync("/p.txt", "22"u8.ToArray());
        var found = await dav.SendAsync("PROPFIND", "/p.txt", "<propfind xmlns='DAV:'><prop><color xmlns='urn:x'/></prop></propfind>", ("Depth", "0"));
        Assert.Equal("blue", XDocument.Parse(await found.Content.ReadAsStringAsync()).Descendants(XName.Get("color", "urn:x")).Single().Value);
    }

    [Fact]
    public async Task Depth_1_propfind_shows_each_member_s_own_dead_properties()
    {
        await using var dav = await DavServer.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/c/")).StatusCode);
        // More members than one page of the listing (512), so the properties of every page are read and matched up.
        for (var i = 0; i < 600; i++)
            await dav.PutAsync($"/c/m{i}.txt", "x"u8.ToArray());
        foreach (var (member, value) in new[] { ("m7.txt", "red"), ("m599.txt", "blue") })
        {
            var patch = $"<propertyupdate xmlns='DAV:'><set><prop><color xmlns='urn:x'>{value}</color><size xmlns='urn:y'>{member.Length}</size></prop></set></propertyupdate>";
            Assert.Equal((HttpStatusCode)207, (await dav.SendAsync("PROPPATCH", $"/c/{member}", patch)).StatusCode);
        }
        XNamespace d = "DAV:";
        XName color = XName.Get("color", "urn:x"), size = XName.Get("size", "urn:y");
        async Task<Dictionary<string, XElement>> ResponsesAsync(string? body)
        {
            var found = await dav.SendAsync("PROPFIND", "/c/", body, ("Depth", "1"));
            Assert.Equal((HttpStatusCode)207, found.StatusCode);
            return XDocument.Parse(await found.Content.ReadAsStringAsync()).Descendants(d + "response")
                .ToDictionary(e => Uri.UnescapeDataString(e.Element(d + "href")!.Value), e => e);
        }

        var all = await ResponsesAsync(null);
        Assert.Equal(601, all.Count);
        Assert.Equal("red", all["/c/m7.txt"].Descendants(color).Single().Value);
        Assert.Equal("blue", all["/c/m599.txt"].Descendants(color).Single().Value);
        Assert.Equal("8", all["/c/m599.txt"].Descendants(size).Single().Value);
        Assert.Equal("6", all["/c/m7.txt"].Descendants(size).Single().Value);
        Assert.Empty(all["/c/m8.txt"].Descendants(color));
        Assert.Empty(all["/c/"].Descendants(color));

        var names = await ResponsesAsync("<propfind xmlns='DAV:'><propname/></propfind>");
        Assert.Equal("", names["/c/m599.txt"].Descendants(color).Single().Value);
        Assert.Single(names["/c/m599.txt"].Descendants(size));
        Assert.Empty(names["/c/m598.txt"].Descendants(color));

        var named = await ResponsesAsync("<propfind xmlns='DAV:'><prop><color xmlns='urn:x'/><getcontentlength/></prop></propfind>");
        string StatusOf(string href, XName property) =>
            named[href].Elements(d + "propstat").Single(p => p.Descendants(property).Any()).Element(d + "status")!.Value;
        Assert.Equal("red", named["/c/m7.txt"].Descendants(color).Single().Value);
        Assert.Contains("200", StatusOf("/c/m7.txt", color));
        Assert.Contains("404", StatusOf("/c/m8.txt", color));
        Assert.Contains("200", StatusOf("/c/m8.txt", d + "getcontentlength"));
    }

    [Fact]
    public async Task The_validators_a_put_answers_with_are_those_a_head_then_gives()
    {
        await using var dav = await DavServer.StartAsync();
        foreach (var (content, status) in new[] { ("first", HttpStatusCode.Created), ("second, longer", HttpStatusCode.NoContent), ("", HttpStatusCode.NoContent) })
        {
            var put = await dav.PutAsync("/v.txt", Encoding.ASCII.GetBytes(content));
            Assert.Equal(status, put.StatusCode);
            var head = await dav.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v.txt"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(head.Headers.ETag, put.Headers.ETag);
            Assert.NotNull(put.Headers.ETag);
            Assert.Equal(head.Content.Headers.LastModified, put.Content.Headers.LastModified);
            Assert.Equal(content.Length, head.Content.Headers.ContentLength);
        }
    }

    [Fact]
    public async Task Ranges_conditional_gets_and_multipart_byteranges()
    {
        await using var dav = await DavServer.StartAsync();
        var content = Encoding.ASCII.GetBytes("0123456789abcdefghij");
        var put = await dav.PutAsync("/r.txt", content);
        var etag = put.Headers.ETag!;

        var single = new HttpRequestMessage(HttpMethod.Get, "/r.txt");
        single.Headers.Range = new RangeHeaderValue(2, 5);
        var one = await dav.Client.SendAsync(single);
        Assert.Equal(HttpStatusCode.PartialContent, one.StatusCode);
        Assert.Equal("2345", await one.Content.ReadAsStringAsync());
        Assert.Equal("bytes 2-5/20", one.Content.Headers.ContentRange!.ToString());

        var multi = new HttpRequestMessage(HttpMethod.Get, "/r.txt");
        multi.Headers.TryAddWithoutValidation("Range", "bytes=0-1,-3");
        var many = await dav.Client.SendAsync(multi);
        Assert.Equal("multipart/byteranges", many.Content.Headers.ContentType!.MediaType);
        var text = await many.Content.ReadAsStringAsync();
        Assert.Contains("Content-Range: bytes 0-1/20\r\n\r\n01\r\n", text);
        Assert.Contains("Content-Range: bytes 17-19/20\r\n\r\nhij\r\n", text);
        Assert.Equal(many.Content.Headers.ContentLength, Encoding.ASCII.GetByteCount(text));

        var beyond = new HttpRequestMessage(HttpMethod.Get, "/r.txt");
        beyond.Headers.TryAddWithoutValidation("Range", "bytes=50-60");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await dav.Client.SendAsync(beyond)).StatusCode);

        var stale = new HttpRequestMessage(HttpMethod.Get, "/r.txt");
        stale.Headers.Range = new RangeHeaderValue(0, 1);
        stale.Headers.TryAddWithoutValidation("If-Range", "\"old\"");
        Assert.Equal(HttpStatusCode.OK, (await dav.Client.SendAsync(stale)).StatusCode);

        var cached = new HttpRequestMessage(HttpMethod.Get, "/r.txt");
        cached.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await dav.Client.SendAsync(cached)).StatusCode);
        var guarded = await dav.PutAsync("/r.txt", "x"u8.ToArray(), ("If-Match", "\"other\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, guarded.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await dav.PutAsync("/r.txt", "x"u8.ToArray(), ("If-None-Match", "*"))).StatusCode);
        Assert.Equal(content, await dav.ReadAsync("/r.txt"));
    }

    [Fact]
    public async Task Files_of_several_blocks_come_back_byte_for_byte_whole_and_in_ranges_across_blocks()
    {
        await using var dav = await DavServer.StartAsync();
        var block = dav.Fs.Format.BlockSize;
        var content = new byte[2 * block + 12_345];
        new Random(7).NextBytes(content);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/big.bin", content)).StatusCode);

        var whole = await dav.Client.GetAsync("/big.bin");
        Assert.Equal(content.Length, whole.Content.Headers.ContentLength);
        Assert.Equal(content, await whole.Content.ReadAsByteArrayAsync());

        var across = new HttpRequestMessage(HttpMethod.Get, "/big.bin");
        across.Headers.Range = new RangeHeaderValue(block - 100, 2 * block + 99);
        var one = await dav.Client.SendAsync(across);
        Assert.Equal(HttpStatusCode.PartialContent, one.StatusCode);
        Assert.Equal(content.AsSpan(block - 100, block + 200).ToArray(), await one.Content.ReadAsByteArrayAsync());

        var multi = new HttpRequestMessage(HttpMethod.Get, "/big.bin");
        multi.Headers.TryAddWithoutValidation("Range", $"bytes=10-{block + 9},-{block + 1}");
        var many = await dav.Client.SendAsync(multi);
        var body = await many.Content.ReadAsByteArrayAsync();
        Assert.Equal(many.Content.Headers.ContentLength, body.Length);
        var first = content.AsSpan(10, block).ToArray();
        var last = content.AsSpan(content.Length - block - 1).ToArray();
        Assert.True(body.AsSpan().IndexOf(first) > 0, "the first range is not in the multipart body");
        Assert.True(body.AsSpan().IndexOf(last) > body.AsSpan().IndexOf(first), "the second range does not follow the first");
    }

    [Fact]
    public async Task Delete_of_a_tree_with_a_locked_member_reports_it_in_a_multistatus()
    {
        await using var dav = await DavServer.StartAsync();
        await dav.SendAsync("MKCOL", "/t");
        await dav.PutAsync("/t/a", [1]);
        await dav.PutAsync("/t/b", [2]);
        Assert.Equal(HttpStatusCode.OK, (await dav.SendAsync("LOCK", "/t/b", ExclusiveLock, ("Depth", "0"))).StatusCode);
        var deleted = await dav.SendAsync("DELETE", "/t/");
        Assert.Equal((HttpStatusCode)207, deleted.StatusCode);
        var xml = XDocument.Parse(await deleted.Content.ReadAsStringAsync());
        var response = xml.Descendants(XName.Get("response", "DAV:")).Single();
        Assert.Equal("/t/b", response.Element(XName.Get("href", "DAV:"))!.Value);
        Assert.Contains("423", response.Element(XName.Get("status", "DAV:"))!.Value);
        Assert.Equal(Errno.ENOENT, (await dav.LookupAsync("/t/a")).Error);
        Assert.Equal(Errno.OK, (await dav.LookupAsync("/t/b")).Error);
    }

    private static async Task<List<string>> ListRootAsync(DavServer dav)
    {
        var page = (await dav.Fs.ReadDirAsync(Caller.Root, FsLimits.RootIno, 0, 100)).Value;
        return [.. page.Entries.Select(e => e.Name).Where(n => n is not ("." or ".."))];
    }
}

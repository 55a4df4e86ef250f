using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Fs.Core.Vfs;

namespace Protocols.WebDav.Tests;

/// <summary>Unsafe paths, foreign destinations, hostile XML, authentication and POSIX permissions over WebDAV.</summary>
public sealed class SecurityTests
{
    [Theory]
    [InlineData("/../etc/passwd")]
    [InlineData("/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/a%2fb")]
    [InlineData("/a\\..\\b")]
    [InlineData("/a%00b")]
    [InlineData("/a%5c..%5cb")]
    public async Task Unsafe_paths_are_refused_for_every_method(string target)
    {
        await using var dav = await DavServer.StartAsync();
        foreach (var method in new[] { "GET", "PUT", "DELETE", "MKCOL", "PROPFIND", "MOVE" })
        {
            var status = await RawHttp.StatusAsync(dav.BaseUri, method, target);
            Assert.True(status == 400, $"{method} {target} gave {status}");
        }
        var root = (await dav.Fs.ReadDirAsync(Caller.Root, FsLimits.RootIno, 0, 10)).Value;
        Assert.Equal([".", ".."], root.Entries.Select(e => e.Name));
    }

    [Fact]
    public async Task Destinations_on_another_host_or_outside_the_tree_are_refused()
    {
        await using var dav = await DavServer.StartAsync();
        await dav.PutAsync("/f", [1]);
        Assert.Equal(HttpStatusCode.BadGateway, (await dav.SendAsync("COPY", "/f", null, ("Destination", "http://example.com/f2"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await dav.SendAsync("MOVE", "/f", null, ("Destination", $"http://{dav.BaseUri.Host}:1/f2"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await dav.SendAsync("MOVE", "/f", null, ("Destination", $"http://{dav.BaseUri.Authority}/x/%2e%2e/f2"))).StatusCode);
        Assert.Equal(Errno.OK, (await dav.LookupAsync("/f")).Error);
    }

    [Fact]
    public async Task Hostile_and_oversized_xml_bodies_are_refused_by_the_server()
    {
        await using var dav = await DavServer.StartAsync(new WebDavOptions { MaxXmlBodyBytes = 4096 });
        var xxe = "<?xml version='1.0'?><!DOCTYPE p [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><propfind xmlns='DAV:'><prop><x>&x;</x></prop></propfind>";
        var refused = await dav.SendAsync("PROPFIND", "/", xxe, ("Depth", "0"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.DoesNotContain("root:", await refused.Content.ReadAsStringAsync());
        var big = "<propertyupdate xmlns='DAV:'><set><prop><x xmlns='urn:x'>" + new string('a', 10_000) + "</x></prop></set></propertyupdate>";
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await dav.SendAsync("PROPPATCH", "/", big)).StatusCode);
    }

    [Fact]
    public async Task Propfind_depth_infinity_is_refused_unless_enabled()
    {
        await using var dav = await DavServer.StartAsync();
        var refused = await dav.SendAsync("PROPFIND", "/", null, ("Depth", "infinity"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("propfind-finite-depth", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_authentication_every_method_without_credentials_gets_401_and_users_act_as_their_uid()
    {
        var users = Path.GetTempFileName();
        await WebDavUsers.AddOrReplaceAsync(users, "alice", "s3cret", 1000, 1000);
        await WebDavUsers.AddOrReplaceAsync(users, "bob", "hunter2", 1001, 1001);
        try
        {
            await using var dav = await DavServer.StartAsync(new WebDavOptions { UsersFile = users });
            foreach (var method in new[] { "OPTIONS", "GET", "HEAD", "PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK" })
            {
                var response = await dav.SendAsync(method, "/x");
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
            }
            dav.Client.DefaultRequestHeaders.Authorization = Basic("alice", "wrong");
            Assert.Equal(HttpStatusCode.Unauthorized, (await dav.SendAsync("PROPFIND", "/", null, ("Depth", "0"))).StatusCode);

            dav.Client.DefaultRequestHeaders.Authorization = Basic("alice", "s3cret");
            Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/alice")).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/alice/private.txt", "mine"u8.ToArray())).StatusCode);
            var attr = (await dav.LookupAsync("/alice/private.txt")).Value;
            Assert.Equal((1000u, 1000u), (attr.Uid, attr.Gid));

            // POSIX permissions hold over WebDAV: bob may read (0644) but not write alice's file or her 0755 directory.
            dav.Client.DefaultRequestHeaders.Authorization = Basic("bob", "hunter2");
            Assert.Equal("mine", await dav.Client.GetStringAsync("/alice/private.txt"));
            Assert.Equal(HttpStatusCode.Forbidden, (await dav.PutAsync("/alice/private.txt", "theirs"u8.ToArray())).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await dav.SendAsync("DELETE", "/alice/private.txt")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await dav.PutAsync("/alice/new.txt", "x"u8.ToArray())).StatusCode);
            Assert.Equal("mine", Encoding.UTF8.GetString(await dav.ReadAsync("/alice/private.txt")));
        }
        finally
        {
            File.Delete(users);
        }
    }

    [Fact]
    public async Task Basic_authentication_over_plain_http_on_a_public_address_is_refused_at_start()
    {
        var users = Path.GetTempFileName();
        try
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => DavServer.StartAsync(new WebDavOptions { UsersFile = users, Address = "0.0.0.0" }));
        }
        finally
        {
            File.Delete(users);
        }
    }

    [Fact]
    public async Task The_html_listing_escapes_every_name()
    {
        await using var dav = await DavServer.StartAsync();
        var hostile = "<script>alert(1)";
        Assert.Equal(HttpStatusCode.Created, (await dav.SendAsync("MKCOL", "/" + Uri.EscapeDataString(hostile))).StatusCode);
        await dav.PutAsync("/a\"b&c.txt", [1]);
        var page = await dav.Client.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)/", html);
        Assert.Contains("href=\"/%3Cscript%3Ealert%281%29/\"", html);
        Assert.Contains("a&quot;b&amp;c.txt", html);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
}

using System.Net;
using System.Net.Http.Headers;
using System.Xml.Linq;

namespace Protocols.WebDav.Tests;

/// <summary>The volume's capacity quota seen through WebDAV: 507 past it, and nothing already stored is harmed.</summary>
public sealed class CapacityTests
{
    private const long Capacity = 8L << 20;
    private static readonly XNamespace D = "DAV:";
    private const string QuotaPropfind = "<propfind xmlns='DAV:'><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>";

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>A body sent chunked, with no Content-Length, so the server cannot refuse it up front and must hit the quota while writing.</summary>
    private static async Task<HttpResponseMessage> PutChunkedAsync(DavServer dav, string path, byte[] content)
    {
        var request = DavServer.Request("PUT", path);
        request.Content = new StreamContent(new MemoryStream(content));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TransferEncodingChunked = true;
        return await dav.Client.SendAsync(request);
    }

    private static async Task<string[]> ListAsync(DavServer dav)
    {
        var listing = await dav.SendAsync("PROPFIND", "/", "<propfind xmlns='DAV:'><prop><resourcetype/></prop></propfind>", ("Depth", "1"));
        Assert.Equal((HttpStatusCode)207, listing.StatusCode);
        var xml = XDocument.Parse(await listing.Content.ReadAsStringAsync());
        return [.. xml.Descendants(D + "href").Select(h => h.Value).Order(StringComparer.Ordinal)];
    }

    private static async Task<(long Available, long Used)> QuotaAsync(DavServer dav)
    {
        var response = await dav.SendAsync("PROPFIND", "/", QuotaPropfind, ("Depth", "0"));
        Assert.Equal((HttpStatusCode)207, response.StatusCode);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync());
        return (long.Parse(xml.Descendants(D + "quota-available-bytes").Single().Value), long.Parse(xml.Descendants(D + "quota-used-bytes").Single().Value));
    }

    [Fact]
    public async Task Writing_past_the_capacity_answers_507_and_leaves_what_was_written_intact()
    {
        await using var dav = await DavServer.StartAsync(capacityBytes: Capacity);
        var (available, used) = await QuotaAsync(dav);
        Assert.Equal(Capacity, available + used);
        Assert.True(available > 7L << 20, $"an empty volume has {available} bytes available");

        var first = Pattern(2 << 20, 1);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/first.bin", first)).StatusCode);
        var (availableAfter, _) = await QuotaAsync(dav);
        Assert.True(availableAfter <= Capacity - first.Length, $"{availableAfter} bytes available after storing {first.Length}");
        var before = await ListAsync(dav);

        // Too large for what is left: refused whether the length is announced or only found out while writing.
        var tooLarge = Pattern(7 << 20, 2);
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await dav.PutAsync("/second.bin", tooLarge)).StatusCode);
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await PutChunkedAsync(dav, "/second.bin", tooLarge)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await dav.SendAsync("GET", "/second.bin")).StatusCode);

        // Overwriting the first file with a body that does not fit keeps its old content.
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await dav.PutAsync("/first.bin", tooLarge)).StatusCode);
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await PutChunkedAsync(dav, "/first.bin", tooLarge)).StatusCode);

        Assert.Equal(before, await ListAsync(dav));
        var got = await dav.SendAsync("GET", "/first.bin");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal(first, await got.Content.ReadAsByteArrayAsync());
        Assert.Equal(first, await dav.ReadAsync("/first.bin"));

        // The failed uploads gave their space back: a file that fits what is left is still accepted.
        Assert.Equal(availableAfter, (await QuotaAsync(dav)).Available);
        Assert.Equal(HttpStatusCode.Created, (await dav.PutAsync("/third.bin", Pattern(1 << 20, 3))).StatusCode);
    }
}

using System.Net.Http.Headers;
using Fs.Core.Vfs;

namespace Protocols.WebDav.Tests;

/// <summary>A real volume (SQLite metadata, local object directory, in a temporary directory) served by a real WebDAV server on a free loopback port.</summary>
public sealed class DavServer : IAsyncDisposable
{
    private readonly string _dir;

    private DavServer(string dir, FileSystem fs, WebDavServer server, HttpClient client)
    {
        _dir = dir;
        Fs = fs;
        Server = server;
        Client = client;
    }

    public FileSystem Fs { get; }
    public WebDavServer Server { get; }
    public HttpClient Client { get; }
    public Uri BaseUri => Server.BaseUri!;

    /// <param name="capacityBytes">The volume's capacity quota (0 = unlimited).</param>
    public static async Task<DavServer> StartAsync(WebDavOptions? options = null, long capacityBytes = 0)
    {
        var dir = Directory.CreateTempSubdirectory("webdav-test-").FullName;
        var metaUrl = $"sqlite:///{dir.TrimStart('/')}/meta.db";
        var storageUrl = $"file:///{dir.TrimStart('/')}/objects";
        await FileSystem.FormatAsync(new FormatOptions { Name = "webdav-test", MetaUrl = metaUrl, StorageUrl = storageUrl, CapacityBytes = capacityBytes });
        var fs = await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            StorageUrl = storageUrl,
            MemoryCacheBytes = 64L << 20,
            WriteBufferBytes = 64L << 20,
        });
        options = (options ?? new WebDavOptions()) with { Port = 0 };
        var server = new WebDavServer(fs, options);
        await server.StartAsync();
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseUri };
        return new DavServer(dir, fs, server, client);
    }

    public static HttpRequestMessage Request(string method, string path, string? body = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/xml");
        foreach (var (name, value) in headers)
            if (!request.Headers.TryAddWithoutValidation(name, value))
                request.Content!.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    public async Task<HttpResponseMessage> SendAsync(string method, string path, string? body = null, params (string Name, string Value)[] headers) =>
        await Client.SendAsync(Request(method, path, body, headers));

    public async Task<HttpResponseMessage> PutAsync(string path, byte[] content, params (string Name, string Value)[] headers)
    {
        var request = Request("PUT", path, null, headers);
        request.Content = new ByteArrayContent(content);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await Client.SendAsync(request);
    }

    /// <summary>Looks a path up through the Vfs as root, the way another door would see it.</summary>
    public async Task<Result<InodeAttr>> LookupAsync(string path)
    {
        var attr = await Fs.GetAttrAsync(FsLimits.RootIno);
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!attr.Ok)
                return attr;
            attr = await Fs.LookupAsync(Caller.Root, attr.Value.Ino, name);
        }
        return attr;
    }

    /// <summary>The whole content of a file read through the Vfs.</summary>
    public async Task<byte[]> ReadAsync(string path)
    {
        var attr = (await LookupAsync(path)).Value;
        var handle = (await Fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        try
        {
            var buffer = new byte[attr.Size];
            var done = 0;
            while (done < buffer.Length)
            {
                var n = (await Fs.ReadAsync(handle, done, buffer.AsMemory(done))).Value;
                if (n == 0)
                    break;
                done += n;
            }
            return buffer[..done];
        }
        finally
        {
            await Fs.ReleaseAsync(handle);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        await Fs.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

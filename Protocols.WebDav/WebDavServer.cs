using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Protocols.WebDav.Methods;

namespace Protocols.WebDav;

/// <summary>The WebDAV door: a Kestrel server mapping RFC 4918 class 1 and 2 onto one <see cref="FileSystem"/>.</summary>
public sealed class WebDavServer : IAsyncDisposable
{
    private readonly FileSystem _fs;
    private readonly WebDavOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly Caller _anonymous;
    private WebDavUsers? _users;
    private WebApplication? _app;

    public WebDavServer(FileSystem fs, WebDavOptions options, ILoggerFactory? loggerFactory = null)
    {
        _fs = fs;
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<WebDavServer>();
        _prefix = DavPath.NormalizePrefix(options.Prefix);
        _anonymous = new Caller(options.AnonymousUid, options.AnonymousGid);
    }

    /// <summary>The URL of the served root once started (with the port actually bound when 0 was asked for).</summary>
    public Uri? BaseUri { get; private set; }

    /// <summary>Binds and starts serving; throws <see cref="InvalidOperationException"/> for settings that would be unsafe.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (_app is not null)
            throw new InvalidOperationException("the WebDAV server is already started");
        var address = ParseAddress(_options.Address);
        var tls = _options.CertificateFile is not null;
        if (_options.UsersFile is not null)
        {
            if (!tls && !IPAddress.IsLoopback(address) && !_options.AllowBasicOverHttp)
                throw new InvalidOperationException(
                    $"Basic authentication over plain HTTP on {_options.Address} would send passwords in the clear; give a certificate or allow it explicitly");
            _users = await WebDavUsers.LoadAsync(_options.UsersFile, ct).ConfigureAwait(false);
        }
        var certificate = tls ? LoadCertificate() : null;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(_loggerFactory);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;
            // Room for two pieces of a GET: the next one is read from the volume while the last one is still being sent,
            // instead of every flush waiting for the socket to take the whole piece (the default is 64 KiB).
            k.Limits.MaxResponseBufferSize = 2 * GetHead.PieceBytes(_fs);
            k.Listen(address, _options.Port, listen =>
            {
                if (certificate is not null)
                    listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        _app = app;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        var port = bound is not null ? new Uri(bound.Replace("*", "localhost", StringComparison.Ordinal)).Port : _options.Port;
        var host = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "127.0.0.1"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        BaseUri = new Uri($"{(tls ? "https" : "http")}://{host}:{port}{_prefix}");
        _logger.LogInformation("WebDAV serving {Uri} ({Auth})", BaseUri, _users is null ? $"no authentication, as uid {_anonymous.Uid}" : $"{_users.Count} users");
    }

    public async Task StopAsync(CancellationToken ct = default)
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is null)
            return;
        await app.StopAsync(ct).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private static IPAddress ParseAddress(string address) => address switch
    {
        "*" or "0.0.0.0" => IPAddress.Any,
        "::" or "[::]" => IPAddress.IPv6Any,
        "localhost" => IPAddress.Loopback,
        _ => IPAddress.TryParse(address.Trim('[', ']'), out var ip) ? ip
            : throw new InvalidOperationException($"'{address}' is not an IP address to listen on"),
    };

    private X509Certificate2 LoadCertificate()
    {
        var file = _options.CertificateFile!;
        var extension = Path.GetExtension(file).ToLowerInvariant();
        if (extension is ".pfx" or ".p12")
            return X509CertificateLoader.LoadPkcs12FromFile(file, _options.CertificatePassword);
        var pem = _options.CertificatePassword is null
            ? X509Certificate2.CreateFromPemFile(file, _options.CertificateKeyFile)
            : X509Certificate2.CreateFromEncryptedPemFile(file, _options.CertificatePassword, _options.CertificateKeyFile);
        // Ephemeral PEM keys cannot be used by SslStream on every platform; a PKCS#12 round trip gives a persisted one.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var origin = FileSystem.EnterDoor(this);
        try
        {
            await DispatchAsync(http).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException && http.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "WebDAV {Method} {Path} failed", http.Request.Method, http.Request.Path);
            if (!http.Response.HasStarted)
            {
                http.Response.Clear();
                http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }
            else
            {
                http.Abort();
            }
        }
    }

    private async Task DispatchAsync(HttpContext http)
    {
        var request = http.Request;
        var response = http.Response;
        Caller caller;
        string principal;
        if (_users is not null)
        {
            var user = Authenticate(request);
            if (user is null)
            {
                response.StatusCode = StatusCodes.Status401Unauthorized;
                response.Headers.WWWAuthenticate = $"Basic realm=\"{_options.Realm}\", charset=\"UTF-8\"";
                return;
            }
            caller = new Caller(user.Uid, user.Gid, user.Groups);
            principal = user.Name;
        }
        else
        {
            caller = _anonymous;
            principal = http.Connection.RemoteIpAddress?.ToString() ?? "anonymous";
        }

        var method = request.Method;
        if (HttpMethods.IsOptions(method))
        {
            Methods.Options.Handle(response);
            return;
        }
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        var path = DavPath.Parse(raw, _prefix);
        if (path is null)
        {
            response.StatusCode = raw.StartsWith(_prefix, StringComparison.Ordinal) ? StatusCodes.Status400BadRequest : StatusCodes.Status404NotFound;
            return;
        }
        var r = new DavRequest
        {
            Http = http,
            Fs = _fs,
            Options = _options,
            Caller = caller,
            Principal = principal,
            Prefix = _prefix,
            Path = path,
            LockOwner = new LockOwner(_fs.Session, LockDoor.WebDav, principal, System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(principal))),
        };
        switch (method)
        {
            case "GET":
                await GetHead.HandleAsync(r, head: false).ConfigureAwait(false);
                break;
            case "HEAD":
                await GetHead.HandleAsync(r, head: true).ConfigureAwait(false);
                break;
            case "PUT":
                await Put.HandleAsync(r).ConfigureAwait(false);
                break;
            case "DELETE":
                await Delete.HandleAsync(r).ConfigureAwait(false);
                break;
            case "MKCOL":
                await Mkcol.HandleAsync(r).ConfigureAwait(false);
                break;
            case "PROPFIND":
                await Propfind.HandleAsync(r).ConfigureAwait(false);
                break;
            case "PROPPATCH":
                await Proppatch.HandleAsync(r).ConfigureAwait(false);
                break;
            case "COPY":
                await CopyMove.HandleAsync(r, move: false).ConfigureAwait(false);
                break;
            case "MOVE":
                await CopyMove.HandleAsync(r, move: true).ConfigureAwait(false);
                break;
            case "LOCK":
                await LockUnlock.LockAsync(r).ConfigureAwait(false);
                break;
            case "UNLOCK":
                await LockUnlock.UnlockAsync(r).ConfigureAwait(false);
                break;
            default:
                response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                response.Headers.Allow = Methods.Options.Allow;
                break;
        }
    }

    private WebDavUser? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return null;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
        var colon = decoded.IndexOf(':');
        return colon <= 0 ? null : _users!.Verify(decoded[..colon], decoded[(colon + 1)..]);
    }
}

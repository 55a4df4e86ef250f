using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

/// <summary>
/// A parsed Redis metadata URL: redis://[user:password@]host:port/db, rediss:// for TLS, and
/// redis+sentinel://[user:password@]host:port[,host:port]/db?service=NAME. Every form takes ?prefix=NAME, the hash tag all
/// keys of the volume share (default "fs"), so several volumes can live in one database. rediss:// also takes
/// tls-ca-cert-file=PEM (a private CA to trust), tls-cert-file=PEM and tls-key-file=PEM (a client certificate, for
/// servers that require one) and insecure-skip-verify=true (accept any server certificate).
/// </summary>
public sealed record RedisMetaUrl(ConfigurationOptions Options, string Prefix, string Display)
{
    public const string DefaultPrefix = "fs";
    private const int DefaultPort = 6379;
    private const int DefaultSentinelPort = 26379;

    public static bool IsRedis(string url) =>
        url.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
        || url.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase)
        || url.StartsWith("redis+sentinel://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="url"/>; a malformed one is a <see cref="VolumeException"/> saying what is wrong.</summary>
    public static RedisMetaUrl Parse(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || !IsRedis(url))
            throw new VolumeException($"'{url}' is not a Redis URL (redis://, rediss:// or redis+sentinel://).");
        var scheme = url[..schemeEnd].ToLowerInvariant();
        var rest = url[(schemeEnd + 3)..];
        var query = "";
        var q = rest.IndexOf('?');
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        var path = "";
        var slash = rest.IndexOf('/');
        if (slash >= 0)
        {
            path = rest[(slash + 1)..];
            rest = rest[..slash];
        }
        string? user = null, password = null;
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var credentials = rest[..at];
            rest = rest[(at + 1)..];
            var colon = credentials.IndexOf(':');
            if (colon >= 0)
            {
                user = Uri.UnescapeDataString(credentials[..colon]);
                password = Uri.UnescapeDataString(credentials[(colon + 1)..]);
            }
            else
            {
                password = Uri.UnescapeDataString(credentials);
            }
            if (user?.Length == 0)
                user = null;
        }

        var sentinel = scheme == "redis+sentinel";
        var options = new ConfigurationOptions
        {
            User = user,
            Password = password,
            Ssl = scheme == "rediss",
            // A volume that cannot reach its metadata at open should say so at once rather than pretend to work.
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            // Commands issued while Redis is unreachable wait in the backlog at most this long, then fail (EIO upstream).
            AsyncTimeout = 5000,
            SyncTimeout = 5000,
            ConnectRetry = 2,
            // After a restart of Redis, reconnect within a fraction of a second rather than the default back-off's seconds.
            ReconnectRetryPolicy = new ExponentialRetry(100, 1000),
            AllowAdmin = true,
            ClientName = "appliance",
        };
        if (rest.Length == 0)
            throw new VolumeException($"Redis URL '{url}' names no host.");
        foreach (var hostPort in rest.Split(','))
        {
            var (host, port) = SplitHostPort(hostPort, sentinel ? DefaultSentinelPort : DefaultPort, url);
            options.EndPoints.Add(host, port);
        }
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var db) || db > 65535)
                throw new VolumeException($"Redis URL '{url}': the path must be a database number, not '{path}'.");
            options.DefaultDatabase = db;
        }

        var prefix = DefaultPrefix;
        string? service = null;
        string? caFile = null, certFile = null, keyFile = null;
        var skipVerify = false;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (name)
            {
                case "prefix":
                    if (value.Length == 0 || value.AsSpan().IndexOfAny('{', '}') >= 0)
                        throw new VolumeException($"Redis URL '{url}': prefix must be non-empty and free of braces.");
                    prefix = value;
                    break;
                case "service":
                    service = value;
                    break;
                case "tls-ca-cert-file":
                    caFile = value;
                    break;
                case "tls-cert-file":
                    certFile = value;
                    break;
                case "tls-key-file":
                    keyFile = value;
                    break;
                case "insecure-skip-verify":
                    skipVerify = value is "true" or "1" ? true
                        : value is "false" or "0" ? false
                        : throw new VolumeException($"Redis URL '{url}': insecure-skip-verify is true or false, not '{value}'.");
                    break;
                default:
                    throw new VolumeException(
                        $"Redis URL '{url}': unknown parameter '{name}' (known: prefix, service, tls-ca-cert-file, tls-cert-file, tls-key-file, insecure-skip-verify).");
            }
        }
        if (sentinel)
        {
            if (string.IsNullOrEmpty(service))
                throw new VolumeException($"Sentinel URL '{url}' needs ?service=NAME, the monitored master's name.");
            options.ServiceName = service;
        }
        else if (service is not null)
        {
            throw new VolumeException($"Redis URL '{url}': service= is only for redis+sentinel://.");
        }

        if (caFile is not null || certFile is not null || keyFile is not null || skipVerify)
            ConfigureTls(options, url, caFile, certFile, keyFile, skipVerify);

        var display = scheme + "://" + rest + "/" + options.DefaultDatabase.GetValueOrDefault() + (prefix == DefaultPrefix ? "" : "?prefix=" + prefix);
        return new RedisMetaUrl(options, prefix, display);
    }

    private static void ConfigureTls(ConfigurationOptions options, string url, string? caFile, string? certFile, string? keyFile, bool skipVerify)
    {
        if (!options.Ssl)
            throw new VolumeException($"Redis URL '{url}': the tls-* and insecure-skip-verify parameters are for rediss:// only.");
        if (caFile is not null)
        {
            RequireFile(url, "tls-ca-cert-file", caFile);
            options.TrustIssuer(caFile);
        }
        if ((certFile is null) != (keyFile is null))
            throw new VolumeException($"Redis URL '{url}': a client certificate needs both tls-cert-file and tls-key-file.");
        if (certFile is not null && keyFile is not null)
        {
            RequireFile(url, "tls-cert-file", certFile);
            RequireFile(url, "tls-key-file", keyFile);
            X509Certificate2 client;
            try
            {
                client = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
            catch (CryptographicException e)
            {
                throw new VolumeException($"Redis URL '{url}': cannot load the client certificate {certFile} with key {keyFile}: {e.Message}", e);
            }
            options.CertificateSelection += (_, _, _, _, _) => client;
        }
        if (skipVerify)
            options.CertificateValidation += (_, _, _, _) => true;
    }

    private static void RequireFile(string url, string parameter, string path)
    {
        if (!File.Exists(path))
            throw new VolumeException($"Redis URL '{url}': {parameter} {path} does not exist.");
    }

    private static (string Host, int Port) SplitHostPort(string hostPort, int defaultPort, string url)
    {
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']');
            if (close < 0)
                throw new VolumeException($"Redis URL '{url}': unterminated IPv6 address.");
            var host = hostPort[1..close];
            var tail = hostPort[(close + 1)..];
            return (host, tail.StartsWith(':') ? ParsePort(tail[1..], url) : defaultPort);
        }
        var colon = hostPort.LastIndexOf(':');
        if (colon < 0)
            return (hostPort, defaultPort);
        return (hostPort[..colon], ParsePort(hostPort[(colon + 1)..], url));
    }

    private static int ParsePort(string text, string url) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new VolumeException($"Redis URL '{url}': bad port '{text}'.");
}

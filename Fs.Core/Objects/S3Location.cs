using System.Text;
using Fs.Core.Vfs;

namespace Fs.Core.Objects;

/// <summary>Where an S3 object store lives: <c>s3://bucket[/prefix]?endpoint=URL&amp;region=R&amp;path-style=true|false</c>.</summary>
public sealed record S3Location
{
    public const string Scheme = "s3://";

    /// <summary>Region used for signing when the URL names none (and the SDK's region chain finds none).</summary>
    public const string DefaultRegion = "us-east-1";

    private static readonly string[] Parameters = ["endpoint", "region", "path-style"];

    public required string Bucket { get; init; }

    /// <summary>Key prefix inside the bucket: empty, or ending with '/'.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>An S3-compatible server (MinIO, Ceph, s3rver...); null means AWS itself.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Signing region; null lets the SDK find it (AWS_REGION, profile) and falls back to us-east-1.</summary>
    public string? Region { get; init; }

    /// <summary>Address the bucket in the path (http://host/bucket/key) instead of the host name (http://bucket.host/key).</summary>
    public bool PathStyle { get; init; }

    /// <summary>Parses a storage URL; throws <see cref="VolumeException"/> saying what is wrong with it.</summary>
    public static S3Location Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            throw new VolumeException($"storage URL '{url}' is not an s3:// URL");
        var rest = url[Scheme.Length..];
        var queryStart = rest.IndexOf('?');
        var path = queryStart < 0 ? rest : rest[..queryStart];
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];

        if (path.Contains('@'))
            throw new VolumeException($"storage URL '{Redact(url)}' carries credentials; give them through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role");
        var slash = path.IndexOf('/');
        var bucket = slash < 0 ? path : path[..slash];
        var prefix = slash < 0 ? "" : Uri.UnescapeDataString(path[(slash + 1)..]);
        ValidateBucket(url, bucket);
        if (prefix.Length > 0)
        {
            if (!prefix.EndsWith('/'))
                prefix += "/";
            try
            {
                ObjectKeys.ValidatePrefix(prefix);
            }
            catch (ArgumentException e)
            {
                throw new VolumeException($"storage URL '{url}' has a bad key prefix: {e.Message}");
            }
        }

        var values = ParseQuery(url, query);
        Uri? endpoint = null;
        if (values.TryGetValue("endpoint", out var endpointText))
        {
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")
                || endpoint.Query.Length > 0 || endpoint.UserInfo.Length > 0)
                throw new VolumeException($"storage URL '{url}': endpoint must be an http:// or https:// URL without query or credentials, not '{endpointText}'");
        }
        var region = values.GetValueOrDefault("region");
        if (region is { Length: 0 })
            throw new VolumeException($"storage URL '{url}': region is empty");
        // S3-compatible servers are usually reached by address or by a name without wildcard DNS for buckets.
        var pathStyle = endpoint is not null;
        if (values.TryGetValue("path-style", out var pathStyleText))
        {
            pathStyle = pathStyleText switch
            {
                "true" => true,
                "false" => false,
                _ => throw new VolumeException($"storage URL '{url}': path-style must be true or false, not '{pathStyleText}'"),
            };
        }
        return new S3Location { Bucket = bucket, Prefix = prefix, Endpoint = endpoint, Region = region, PathStyle = pathStyle };
    }

    /// <summary>The URL in canonical form: what <see cref="Parse"/> reads back to an equal location.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Scheme).Append(Bucket);
        if (Prefix.Length > 0)
            text.Append('/').Append(Uri.EscapeDataString(Prefix.TrimEnd('/')).Replace("%2F", "/", StringComparison.Ordinal));
        var separator = '?';
        if (Endpoint is not null)
        {
            text.Append(separator).Append("endpoint=").Append(Uri.EscapeDataString(Endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/')));
            separator = '&';
        }
        if (Region is not null)
        {
            text.Append(separator).Append("region=").Append(Uri.EscapeDataString(Region));
            separator = '&';
        }
        if (PathStyle != (Endpoint is not null))
            text.Append(separator).Append("path-style=").Append(PathStyle ? "true" : "false");
        return text.ToString();
    }

    /// <summary>The name of one object, as log lines and errors show it.</summary>
    public string NameOf(string key) => $"{Scheme}{Bucket}/{Prefix}{key}";

    private static Dictionary<string, string> ParseQuery(string url, string query)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (query.Length == 0)
            return values;
        foreach (var pair in query.Split('&'))
        {
            var equals = pair.IndexOf('=');
            var name = equals < 0 ? pair : pair[..equals];
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            if (Array.IndexOf(Parameters, name) < 0)
                throw new VolumeException($"storage URL '{url}' has unknown parameter '{name}'; known: {string.Join(", ", Parameters)}");
            if (!values.TryAdd(name, value))
                throw new VolumeException($"storage URL '{url}' gives '{name}' twice");
        }
        return values;
    }

    /// <summary>The rules AWS applies to new buckets, so a bad name fails at format time rather than on the first upload.</summary>
    private static void ValidateBucket(string url, string bucket)
    {
        static bool LetterOrDigit(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
        var valid = bucket.Length is >= 3 and <= 63
            && LetterOrDigit(bucket[0])
            && LetterOrDigit(bucket[^1])
            && bucket.All(c => LetterOrDigit(c) || c is '-' or '.')
            && !bucket.Contains("..", StringComparison.Ordinal);
        if (!valid)
            throw new VolumeException($"storage URL '{url}' names bucket '{bucket}': a bucket name is 3 to 63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit");
    }

    private static string Redact(string url)
    {
        var at = url.IndexOf('@');
        return Scheme + "***" + url[at..];
    }
}

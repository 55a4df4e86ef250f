using Fs.Core.Vfs;

namespace Fs.Core.Objects;

/// <summary>Opens an object store from its storage URL.</summary>
public static class ObjectStores
{
    private const string FileScheme = "file://";

    private const string Supported = "file:///absolute/path, s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true|false]";

    /// <summary>
    /// Opens <c>file:///absolute/path</c>, a plain absolute path, or <c>s3://bucket[/prefix]?...</c> (see
    /// <see cref="S3Location"/>); the store is not created until CreateAsync.
    /// </summary>
    public static IObjectStore Open(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.StartsWith(S3Location.Scheme, StringComparison.OrdinalIgnoreCase))
            return new S3Store(S3Location.Parse(url));
        if (url.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase))
        {
            var path = Uri.UnescapeDataString(url[FileScheme.Length..]);
            if (!path.StartsWith('/'))
                throw new VolumeException($"storage URL '{url}' names a host or a relative path; use file:///absolute/path");
            return new LocalDirectoryStore(path);
        }

        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0)
            throw new VolumeException($"storage URL '{url}' has unsupported scheme '{url[..schemeEnd]}://'; supported: {Supported}");
        if (Path.IsPathFullyQualified(url))
            return new LocalDirectoryStore(url);
        throw new VolumeException($"storage URL '{url}' is neither a URL nor an absolute path; supported: {Supported}");
    }
}

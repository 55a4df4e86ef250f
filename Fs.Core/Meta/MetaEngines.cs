using Fs.Core.Meta.Redis;
using Fs.Core.Meta.Sqlite;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Meta;

/// <summary>Opens the metadata engine a URL names.</summary>
public static class MetaEngines
{
    public const string SupportedSchemes = "sqlite://, redis://, rediss://, redis+sentinel://";

    /// <summary>
    /// Opens the engine for <paramref name="url"/>: sqlite:///absolute/path/meta.db (sqlite://relative/path is taken
    /// relative to the working directory); redis://[user:password@]host:port/db, rediss:// (TLS) or
    /// redis+sentinel://host:port[,host:port]/db?service=NAME, each with an optional ?prefix=NAME (see <see cref="RedisMetaUrl"/>).
    /// Anything else is a <see cref="VolumeException"/> naming the supported schemes.
    /// </summary>
    public static IMetaEngine Open(string url, ILoggerFactory? loggerFactory = null)
    {
        const string sqlite = "sqlite://";
        if (url.StartsWith(sqlite, StringComparison.OrdinalIgnoreCase))
        {
            var path = Uri.UnescapeDataString(url[sqlite.Length..]);
            if (path.Length == 0 || path.EndsWith('/'))
                throw new VolumeException($"Metadata URL '{url}' names no database file; expected sqlite:///path/to/meta.db.");
            return new SqliteMetaEngine(path, loggerFactory);
        }
        if (RedisMetaUrl.IsRedis(url))
            return new RedisMetaEngine(url, loggerFactory);
        throw new VolumeException($"Unsupported metadata URL '{url}'; supported schemes: {SupportedSchemes}.");
    }
}

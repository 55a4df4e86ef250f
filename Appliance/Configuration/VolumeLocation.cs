namespace Appliance.Configuration;

/// <summary>
/// Where a volume lives. Each of meta, storage and cache is taken as given, or else derived from the data directory
/// (default ./data): sqlite:///DATA/meta.db, file:///DATA/objects and DATA/cache, the embedded default.
/// </summary>
public sealed record VolumeLocation
{
    public const string DefaultDataDirectory = "data";

    /// <summary>Absolute data directory.</summary>
    public required string DataDirectory { get; init; }

    public required string MetaUrl { get; init; }

    /// <summary>The storage URL to format with: the given one or the one under the data directory.</summary>
    public required string StorageUrl { get; init; }

    /// <summary>True when the storage URL was given; otherwise an existing volume's recorded storage is used when opening it.</summary>
    public required bool StorageGiven { get; init; }

    public required string CacheDirectory { get; init; }

    /// <summary>True when anything lives under the data directory, which then has to exist.</summary>
    public required bool UsesDataDirectory { get; init; }

    public static VolumeLocation Resolve(string? data, string? meta, string? storage, string? cacheDir, string workingDirectory)
    {
        var dataDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(data ?? DefaultDataDirectory, workingDirectory));
        return new VolumeLocation
        {
            DataDirectory = dataDir,
            MetaUrl = meta ?? "sqlite://" + Path.Combine(dataDir, "meta.db"),
            StorageUrl = storage ?? "file://" + Path.Combine(dataDir, "objects"),
            StorageGiven = storage is not null,
            CacheDirectory = Path.GetFullPath(cacheDir ?? Path.Combine(dataDir, "cache"), workingDirectory),
            UsesDataDirectory = meta is null || storage is null || cacheDir is null,
        };
    }

    /// <summary>Creates the data directory when some default points into it (engines create their own files, not their parents).</summary>
    public void EnsureDataDirectory()
    {
        if (UsesDataDirectory)
            Directory.CreateDirectory(DataDirectory);
    }
}

using Fs.Core.Vfs;

namespace Fs.Core.Cache;

/// <summary>Sizes and limits of a <see cref="BlockCache"/>.</summary>
public sealed record BlockCacheOptions
{
    /// <summary>Decoded blocks kept in memory, in bytes (0 = no memory tier).</summary>
    public long MemoryBytes { get; init; } = 256L << 20;

    /// <summary>Directory of the disk tier; null = no disk tier.</summary>
    public string? DiskDir { get; init; }

    /// <summary>Bytes of block files the disk tier may hold.</summary>
    public long DiskBytes { get; init; } = 10L << 30;

    /// <summary>The disk tier evicts rather than grow while its file system has less than this fraction free.</summary>
    public double DiskMinFreeRatio { get; init; } = 0.1;

    /// <summary>Blocks encoded and uploaded at once.</summary>
    public int UploadConcurrency { get; init; } = 16;

    /// <summary>Background prefetches in flight at once; further prefetch requests are dropped, not queued.</summary>
    public int MaxPrefetches { get; init; } = 32;

    /// <summary>The cache settings of a file-system process.</summary>
    public static BlockCacheOptions From(FileSystemOptions options) => new()
    {
        MemoryBytes = options.MemoryCacheBytes,
        DiskDir = options.CacheDir,
        DiskBytes = options.DiskCacheBytes,
        DiskMinFreeRatio = options.DiskCacheMinFreeRatio,
        UploadConcurrency = options.UploadConcurrency,
        MaxPrefetches = Math.Max(1, options.ReadAheadBlocks * 4),
    };
}

/// <summary>Counters of a <see cref="BlockCache"/> since it was created, for metrics.</summary>
/// <param name="MemoryHits">Reads served from the memory tier.</param>
/// <param name="MemoryMisses">Reads that had to load the block (from disk or store, or by joining a load in flight).</param>
/// <param name="DiskHits">Loads served by the disk tier.</param>
/// <param name="StoreGets">Loads that fetched the object from the store.</param>
/// <param name="StoreGetBytes">Encoded bytes fetched from the store.</param>
/// <param name="StorePuts">Blocks uploaded.</param>
/// <param name="StorePutBytes">Encoded bytes uploaded.</param>
/// <param name="MemoryBytes">Bytes in the memory tier now.</param>
/// <param name="MemoryBlocks">Blocks in the memory tier now.</param>
/// <param name="MemoryEvictions">Blocks evicted from the memory tier.</param>
/// <param name="DiskBytes">Bytes in the disk tier now.</param>
/// <param name="DiskBlocks">Blocks in the disk tier now.</param>
/// <param name="DiskEvictions">Blocks evicted from the disk tier.</param>
/// <param name="DiskCorruptions">Disk tier files found damaged, deleted and fetched again.</param>
/// <param name="PrefetchesDropped">Prefetch requests dropped because too many were in flight.</param>
public sealed record BlockCacheStats(
    long MemoryHits,
    long MemoryMisses,
    long DiskHits,
    long StoreGets,
    long StoreGetBytes,
    long StorePuts,
    long StorePutBytes,
    long MemoryBytes,
    int MemoryBlocks,
    long MemoryEvictions,
    long DiskBytes,
    int DiskBlocks,
    long DiskEvictions,
    long DiskCorruptions,
    long PrefetchesDropped);

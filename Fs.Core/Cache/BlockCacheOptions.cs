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

    /// <summary>The volume's block size: full blocks are read into reusable buffers of this size (0 = no reuse).</summary>
    public int BlockBytes { get; init; }

    /// <summary>Blocks a sequential reader reads ahead: the memory tier keeps room for the read-ahead of two readers on probation.</summary>
    public int ReadAheadBlocks { get; init; } = 16;

    /// <summary>Background prefetches in flight at once; further prefetch requests are dropped, not queued.</summary>
    public int MaxPrefetches { get; init; } = 32;

    /// <summary>
    /// Where the memory left on the machine is read; the memory tier gives memory back while it runs low (see
    /// <see cref="BlockCache.MemoryLimit"/>). Null keeps the tier at <see cref="MemoryBytes"/> whatever the machine has left.
    /// </summary>
    public IMemoryGauge? MemoryGauge { get; init; }

    /// <summary>How often the memory left is read.</summary>
    public TimeSpan MemoryCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The cache settings of a file-system process.</summary>
    public static BlockCacheOptions From(FileSystemOptions options) => new()
    {
        MemoryBytes = options.MemoryCacheBytes,
        DiskDir = options.CacheDir,
        DiskBytes = options.DiskCacheBytes,
        DiskMinFreeRatio = options.DiskCacheMinFreeRatio,
        UploadConcurrency = options.UploadConcurrency,
        ReadAheadBlocks = options.ReadAheadBlocks,
        MaxPrefetches = Math.Max(1, options.ReadAheadBlocks * 4),
        MemoryGauge = options.MemoryGauge,
    };
}

using Fs.Core.Cache;
using Fs.Core.Metrics;

namespace Fs.Core.Vfs;

/// <summary>How to open a volume: where its metadata and objects are, and the cache and writer settings of this process.</summary>
public sealed record FileSystemOptions
{
    /// <summary>Metadata engine URL, e.g. sqlite:///var/lib/appliance/meta.db.</summary>
    public required string MetaUrl { get; init; }

    /// <summary>Object store URL, e.g. file:///var/lib/appliance/objects. Null uses the one recorded at format time.</summary>
    public string? StorageUrl { get; init; }

    /// <summary>Disk cache directory (null = no disk tier).</summary>
    public string? CacheDir { get; init; }

    public long DiskCacheBytes { get; init; } = 10L << 30;

    /// <summary>The disk tier stops growing when the cache file system has less than this fraction free.</summary>
    public double DiskCacheMinFreeRatio { get; init; } = 0.1;

    /// <summary>Most bytes of decoded blocks the memory cache holds; less while the machine runs short of memory.</summary>
    public long MemoryCacheBytes { get; init; } = 256L << 20;

    /// <summary>
    /// The memory cache a server process gets unless told otherwise: an eighth of <paramref name="totalBytes"/> (the
    /// machine's memory, or its control group's limit), at least 256 MiB and at most 16 GiB. The cache gives memory
    /// back while the machine runs short, so a generous size costs other processes nothing they need.
    /// </summary>
    public static long MemoryCacheFor(long totalBytes) => Math.Clamp(totalBytes / 8, 256L << 20, 16L << 30);

    /// <summary>Where the memory left on the machine is read, so the memory cache can give memory back; null never shrinks it.</summary>
    public IMemoryGauge? MemoryGauge { get; init; } = SystemMemoryGauge.Instance;

    /// <summary>Blocks uploaded at once per volume.</summary>
    public int UploadConcurrency { get; init; } = 16;

    /// <summary>Bytes of written data buffered in memory per volume before writers wait for uploads.</summary>
    public long WriteBufferBytes { get; init; } = 512L << 20;

    /// <summary>Blocks read ahead of a sequential reader.</summary>
    public int ReadAheadBlocks { get; init; } = 16;

    /// <summary>A chunk with more slices than this is compacted in the background.</summary>
    public int CompactThreshold { get; init; } = 64;

    /// <summary>Key file for volumes formatted with encryption.</summary>
    public string? EncryptKeyFile { get; init; }

    /// <summary>Host name and doors recorded with this process's session.</summary>
    public string SessionDoors { get; init; } = "";

    /// <summary>How often this process's session beats, and how often it looks for other sessions that stopped beating.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A session that stopped beating (a crashed appliance) is cleaned by the others within this time: its locks released, its open-but-unlinked files deleted.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where the volume's metrics are kept; null keeps them in a registry of the volume's own that nobody scrapes.</summary>
    public FileSystemMetrics? Metrics { get; init; }

    /// <summary>How often slices of deleted data are removed from the object store.</summary>
    public TimeSpan DeletionInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often this appliance tries to empty trash hours older than the volume's TrashDays (one appliance of a volume does it at a time).</summary>
    public TimeSpan TrashCleanInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The clock trash expiry is judged by; tests move it forward instead of waiting days.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

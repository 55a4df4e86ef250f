namespace Fs.Core.Cache;

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
/// <param name="MemoryLimitBytes">Most bytes the memory tier may hold now (less than configured while memory is short).</param>
/// <param name="MemoryProbationBytes">Bytes of the memory tier held by blocks read once (on probation), part of <paramref name="MemoryBytes"/>.</param>
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
    long PrefetchesDropped,
    long MemoryLimitBytes,
    long MemoryProbationBytes);

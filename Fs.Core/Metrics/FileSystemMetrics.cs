using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Metrics;

/// <summary>
/// The metrics of the file-system core, registered in a <see cref="MetricsRegistry"/>: operations per door with their
/// latency, bytes through the doors, object-store and metadata requests, and the block cache, open handles, sessions,
/// locks and usage of the open volume (read at scrape time).
/// </summary>
public sealed class FileSystemMetrics
{
    public FileSystemMetrics(MetricsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Registry = registry;
        var latency = HistogramFamily.LatencySeconds;
        Operations = registry.Histogram("appliance_fs_operation_duration_seconds",
            "File-system operations by door and operation, and how long they took (count = operations).", latency, "door", "op");
        OperationErrors = registry.Counter("appliance_fs_operation_errors_total",
            "File-system operations that returned an error, by door, operation and errno.", "door", "op", "errno");
        BytesRead = registry.Counter("appliance_fs_read_bytes_total", "Bytes returned by reads, by door.", "door");
        BytesWritten = registry.Counter("appliance_fs_written_bytes_total", "Bytes accepted by writes, by door.", "door");
        OpenHandles = registry.Gauge("appliance_fs_open_handles", "Open file handles in this process.");
        ObjectRequests = registry.Histogram("appliance_object_store_request_duration_seconds",
            "Object-store requests by operation, and how long they took (count = requests).", latency, "op");
        ObjectErrors = registry.Counter("appliance_object_store_errors_total",
            "Object-store requests that failed (a missing object on get is not a failure), by operation.", "op");
        ObjectBytes = registry.Counter("appliance_object_store_bytes_total",
            "Bytes sent to (out) and received from (in) the object store.", "direction");
        MetaRequests = registry.Histogram("appliance_meta_request_duration_seconds",
            "Round trips to the metadata engine by operation, and how long they took (count = round trips).", latency, "op");
        MetaErrors = registry.Counter("appliance_meta_errors_total",
            "Metadata-engine calls that failed in the engine (not errno answers), by operation.", "op");
        CacheHits = registry.Counter("appliance_block_cache_hits_total", "Block reads served by the cache, by tier.", "tier");
        CacheMisses = registry.Counter("appliance_block_cache_misses_total",
            "Block reads not in the memory tier, which waited for a load from the disk tier or the object store.");
        CacheBytes = registry.Gauge("appliance_block_cache_bytes", "Bytes held by the block cache, by tier.", "tier");
        CacheLimit = registry.Gauge("appliance_block_cache_limit_bytes",
            "Most bytes the memory tier may hold now: the configured size, less while the machine is short of memory.");
        CacheBlocks = registry.Gauge("appliance_block_cache_blocks", "Blocks held by the block cache, by tier.", "tier");
        CacheEvictions = registry.Counter("appliance_block_cache_evictions_total", "Blocks evicted from the block cache, by tier.", "tier");
        CacheCorruptions = registry.Counter("appliance_block_cache_disk_corruptions_total",
            "Blocks in the disk tier that failed their checksum and were fetched again from the object store.");
        Sessions = registry.Gauge("appliance_sessions", "Appliance sessions registered on the volume (this one included).");
        Locks = registry.Gauge("appliance_locks", "Locks held on the volume, by kind.", "kind");
        UsedBytes = registry.Gauge("appliance_volume_used_bytes", "Bytes used by files of the volume.");
        UsedInodes = registry.Gauge("appliance_volume_used_inodes", "Inodes used on the volume.");
    }

    public MetricsRegistry Registry { get; }

    public HistogramFamily Operations { get; }

    public CounterFamily OperationErrors { get; }

    public CounterFamily BytesRead { get; }

    public CounterFamily BytesWritten { get; }

    public GaugeFamily OpenHandles { get; }

    public HistogramFamily ObjectRequests { get; }

    public CounterFamily ObjectErrors { get; }

    public CounterFamily ObjectBytes { get; }

    public HistogramFamily MetaRequests { get; }

    public CounterFamily MetaErrors { get; }

    public CounterFamily CacheHits { get; }

    public CounterFamily CacheMisses { get; }

    public GaugeFamily CacheBytes { get; }

    public GaugeFamily CacheLimit { get; }

    public GaugeFamily CacheBlocks { get; }

    public CounterFamily CacheEvictions { get; }

    public CounterFamily CacheCorruptions { get; }

    public GaugeFamily Sessions { get; }

    public GaugeFamily Locks { get; }

    public GaugeFamily UsedBytes { get; }

    public GaugeFamily UsedInodes { get; }

    /// <summary>Records one finished file-system operation of the door in whose flow it ran.</summary>
    internal void Completed(string door, string op, long startTimestamp, Errno result)
    {
        Operations.WithLabels(door, op).ObserveSince(startTimestamp);
        if (result != Errno.OK)
            OperationErrors.WithLabels(door, op, result.ToString()).Increment();
    }

    /// <summary>Refreshes the gauges read from <paramref name="fileSystem"/> before every scrape until the result is disposed.</summary>
    internal IDisposable Attach(FileSystem fileSystem) =>
        Registry.AddCollector("volume", async ct =>
        {
            OpenHandles.Series.Set(fileSystem.OpenHandleCount);
            var cache = fileSystem.CacheStats;
            CacheHits.WithLabels("memory").AdvanceTo(cache.MemoryHits);
            CacheHits.WithLabels("disk").AdvanceTo(cache.DiskHits);
            CacheMisses.Series.AdvanceTo(cache.MemoryMisses);
            CacheBytes.WithLabels("memory").Set(cache.MemoryBytes);
            CacheBytes.WithLabels("disk").Set(cache.DiskBytes);
            CacheLimit.Series.Set(cache.MemoryLimitBytes);
            CacheBlocks.WithLabels("memory").Set(cache.MemoryBlocks);
            CacheBlocks.WithLabels("disk").Set(cache.DiskBlocks);
            CacheEvictions.WithLabels("memory").AdvanceTo(cache.MemoryEvictions);
            CacheEvictions.WithLabels("disk").AdvanceTo(cache.DiskEvictions);
            CacheCorruptions.Series.AdvanceTo(cache.DiskCorruptions);

            // These three are metadata round trips, made only when scraped.
            Sessions.Series.Set((await fileSystem.Meta.ListSessionsAsync(ct).ConfigureAwait(false)).Count);
            var locks = await fileSystem.Meta.ListLocksAsync(ct).ConfigureAwait(false);
            foreach (var kind in Enum.GetValues<LockKind>())
                Locks.WithLabels(kind.ToString().ToLowerInvariant()).Set(locks.Count(l => l.Lock.Kind == kind));
            var usage = await fileSystem.Meta.GetUsageAsync(ct).ConfigureAwait(false);
            UsedBytes.Series.Set(usage.UsedBytes);
            UsedInodes.Series.Set(usage.UsedInodes);
        });
}

using System.Runtime.InteropServices;
using Fs.Core.Objects;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Cache;

/// <summary>
/// The process's block cache in front of the codec and the object store: a bounded memory tier of decoded blocks,
/// an optional bounded disk tier of stored blocks, single-flight loading, bounded uploads and bounded prefetch.
/// </summary>
/// <remarks>
/// Blocks are immutable and never renamed, so a cached block can never be stale. A load that fails caches nothing:
/// the error goes to every reader waiting on that load, and the next read tries the store again.
/// Full-size blocks live in reusable <see cref="BlockBuffer"/>s: the memory tier holds each once, every reader copying
/// out of one holds it too, and the last to let go returns it to <see cref="Buffers"/> for the next load or writer.
/// The cache does not own the object store; whoever created the store disposes it.
/// </remarks>
public sealed partial class BlockCache : IBlockStore, IAsyncDisposable
{
    /// <summary>Idle full-size buffers kept for reuse: enough for the loads and uploads of a few streams at once.</summary>
    private const int IdleBuffers = 8;

    /// <summary>The least memory the tier leaves the machine, however much it has.</summary>
    private const long MinMemoryReserve = 256L << 20;

    /// <summary>The tier never shrinks below this for want of memory: a few blocks keep sequential reads working.</summary>
    private const long MinMemoryLimit = 32L << 20;

    /// <summary>Readings after an eviction for want of memory before a shortage that did not grow evicts again.</summary>
    private const int PressureCooldown = 5;

    private readonly IObjectStore _store;
    private readonly BlockCodec _codec;
    private readonly BlockCacheOptions _options;
    private readonly ILogger _logger;
    private readonly DiskBlockCache? _disk;
    private readonly SemaphoreSlim _uploadSlots;
    private readonly CancellationTokenSource _lifetime = new();

    private readonly Lock _memoryLock = new();
    private readonly MemoryTier<CachedBlock> _memory;

    // Lock order: _loadsLock, then _memoryLock.
    private readonly Lock _loadsLock = new();
    private readonly Dictionary<BlockKey, BlockLoad> _loads = [];

    private readonly Task _memoryWatch;
    private long _memoryLimit;
    private readonly Lock _pressureLock = new();
    private long _lastShortfall;
    private int _readingsSinceShrink;
    private int _prefetching;
    private long _memoryHits, _memoryMisses, _diskHits, _storeGets, _storeGetBytes, _storePuts, _storePutBytes;
    private long _diskCorruptions, _prefetchesDropped;

    public BlockCache(IObjectStore store, BlockCodec codec, BlockCacheOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.UploadConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MemoryBytes);
        _store = store;
        _codec = codec;
        _options = options;
        _logger = logger;
        _uploadSlots = new SemaphoreSlim(options.UploadConcurrency, options.UploadConcurrency);
        if (options.DiskDir is not null && options.DiskBytes > 0)
            _disk = new DiskBlockCache(options.DiskDir, options.DiskBytes, options.DiskMinFreeRatio, logger);
        if (options.BlockBytes > 0)
            Buffers = new BlockBufferPool(options.BlockBytes, IdleBuffers);
        _memoryLimit = options.MemoryBytes;
        // Probation holds at least two streams' read-ahead, so that a prefetched block is still there when its reader
        // comes; the keys remembered cover the tier's size in 64 KiB blocks (a few MiB of keys at most).
        var blockBytes = options.BlockBytes > 0 ? options.BlockBytes : 4 << 20;
        _memory = new MemoryTier<CachedBlock>(
            (int)Math.Clamp(options.MemoryBytes >> 16, 1024, 65536),
            2L * Math.Max(1, options.ReadAheadBlocks) * blockBytes,
            block => block.Owner?.Release());
        _memoryWatch = options.MemoryGauge is { } gauge && options.MemoryBytes > 0
            ? Task.Run(() => WatchMemoryAsync(gauge))
            : Task.CompletedTask;
    }

    /// <summary>
    /// Most bytes the memory tier holds now: the configured size, less whatever the machine is short of. While the
    /// memory left (see <see cref="BlockCacheOptions.MemoryGauge"/>) is under a reserve of a sixteenth of all memory
    /// (at least 256 MiB), the tier evicts to make up the difference; it grows back as memory comes free.
    /// </summary>
    public long MemoryLimit => Volatile.Read(ref _memoryLimit);

    /// <summary>Empties the memory tier, like dropping the page cache: later reads load their blocks again. Returns the bytes let go.</summary>
    public long DropMemory()
    {
        long dropped;
        lock (_memoryLock)
            dropped = _memory.Clear();
        if (dropped > 0)
            ReturnMemory();
        return dropped;
    }

    /// <summary>
    /// Sets the memory tier's limit for a reading of the memory left and evicts down to it; returns the bytes evicted.
    /// </summary>
    /// <remarks>
    /// Memory evicted does not reach the machine at once (the runtime frees it in a collection and may keep some for
    /// reuse), so a shortage that lasts is not made up again on every reading: after an eviction only a shortage that
    /// grew since evicts more, until <see cref="PressureCooldown"/> readings have passed.
    /// </remarks>
    internal long AdjustToMemory(MemoryReading reading)
    {
        var reserve = Math.Max(reading.TotalBytes / 16, MinMemoryReserve);
        var shortfall = reserve - reading.AvailableBytes;
        long held;
        lock (_memoryLock)
            held = _memory.Bytes;
        var floor = Math.Min(_options.MemoryBytes, MinMemoryLimit);
        lock (_pressureLock)
        {
            if (shortfall <= 0)
            {
                // Room to spare: the tier may grow into what is above the reserve, up to its configured size.
                _lastShortfall = 0;
                Volatile.Write(ref _memoryLimit, Math.Clamp(held - shortfall, floor, _options.MemoryBytes));
                return 0;
            }
            _readingsSinceShrink++;
            var fresh = _readingsSinceShrink >= PressureCooldown ? shortfall : shortfall - _lastShortfall;
            if (fresh <= 0)
                return 0;
            _lastShortfall = shortfall;
            _readingsSinceShrink = 0;
            Volatile.Write(ref _memoryLimit, Math.Clamp(held - fresh, floor, _options.MemoryBytes));
        }
        var limit = MemoryLimit;
        var evicted = EvictMemoryTo(limit);
        if (evicted > 0)
        {
            LogMemoryShrunk(_logger, evicted >> 20, reading.AvailableBytes >> 20, limit >> 20);
            ReturnMemory();
        }
        return evicted;
    }

    private async Task WatchMemoryAsync(IMemoryGauge gauge)
    {
        using var timer = new PeriodicTimer(_options.MemoryCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token).ConfigureAwait(false))
            {
                if (gauge.Read() is { } reading)
                    AdjustToMemory(reading);
            }
        }
        catch (OperationCanceledException)
        {
            // The cache is being disposed.
        }
        catch (Exception e)
        {
            // Without readings the tier goes back to its configured size, as it would be without a gauge: a limit
            // lowered by an earlier shortage must not stay in force with nothing left to raise it.
            Volatile.Write(ref _memoryLimit, _options.MemoryBytes);
            LogMemoryWatchFailed(_logger, e);
        }
    }

    /// <summary>Evicts until the memory tier holds at most <paramref name="limit"/> bytes; returns the bytes evicted.</summary>
    private long EvictMemoryTo(long limit)
    {
        lock (_memoryLock)
            return _memory.EvictTo(limit);
    }

    /// <summary>
    /// Collects at once after evicting to give memory back, so the machine gets it now: a block's buffer is freed only
    /// by a full collection, which a process that allocates little might not run for a long time.
    /// </summary>
    private static void ReturnMemory() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);

    /// <summary>Reusable buffers for the volume's full-size blocks (null when the block size was not given).</summary>
    internal BlockBufferPool? Buffers { get; }

    public BlockCacheStats Stats
    {
        get
        {
            long memoryBytes, probationBytes, memoryEvictions;
            int memoryBlocks;
            lock (_memoryLock)
            {
                memoryBytes = _memory.Bytes;
                memoryBlocks = _memory.Count;
                probationBytes = _memory.ProbationBytes;
                memoryEvictions = _memory.Evictions;
            }
            return new BlockCacheStats(
                Interlocked.Read(ref _memoryHits),
                Interlocked.Read(ref _memoryMisses),
                Interlocked.Read(ref _diskHits),
                Interlocked.Read(ref _storeGets),
                Interlocked.Read(ref _storeGetBytes),
                Interlocked.Read(ref _storePuts),
                Interlocked.Read(ref _storePutBytes),
                memoryBytes,
                memoryBlocks,
                memoryEvictions,
                _disk?.Bytes ?? 0,
                _disk?.Count ?? 0,
                _disk?.Evictions ?? 0,
                Interlocked.Read(ref _diskCorruptions),
                Interlocked.Read(ref _prefetchesDropped),
                MemoryLimit,
                probationBytes);
        }
    }

    public async ValueTask ReadAsync(BlockKey key, int offset, Memory<byte> destination, CancellationToken ct)
    {
        var span = await AcquireAsync(key, offset, destination.Length, ct).ConfigureAwait(false);
        try
        {
            span.Data.Span.CopyTo(destination.Span);
        }
        finally
        {
            span.Owner?.Release();
        }
    }

    ValueTask<BlockSpan> IBlockStore.AcquireAsync(BlockKey key, int offset, int length, CancellationToken ct) => AcquireAsync(key, offset, length, ct);

    internal async ValueTask<BlockSpan> AcquireAsync(BlockKey key, int offset, int length, CancellationToken ct)
    {
        if (offset < 0 || length < 0 || (long)offset + length > key.Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {(long)offset + length}) are outside block {key.ObjectKey}");

        CachedBlock block;
        bool hit;
        lock (_memoryLock)
        {
            hit = _memory.TryGet(key, out block);
            if (hit)
                block.Owner?.Retain();
        }
        if (hit)
        {
            Interlocked.Increment(ref _memoryHits);
        }
        else
        {
            Interlocked.Increment(ref _memoryMisses);
            // The load is shared with other readers, so this reader's cancellation only stops its own wait (a buffer it
            // would have held then simply is not reused).
            block = await Load(key, reader: true).WaitAsync(ct).ConfigureAwait(false);
        }
        return new BlockSpan(block.Data.Slice(offset, length), block.Owner);
    }

    public async ValueTask WriteAsync(BlockKey key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.Length != key.Size)
            throw new ArgumentException($"block {key.ObjectKey} holds {key.Size} bytes, got {data.Length}", nameof(data));

        ReadOnlyMemory<byte> stored;
        // Encoding happens inside the slot too, so encoded copies in memory are bounded by the same limit.
        var owner = MemoryMarshal.TryGetMemoryManager(data, out BlockBuffer? buffer) ? buffer : null;
        try
        {
            await _uploadSlots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                stored = _codec.EncodeInPlace(key.ObjectKey, data);
                await _store.PutAsync(key.ObjectKey, stored, ct).ConfigureAwait(false);
            }
            finally
            {
                _uploadSlots.Release();
            }
        }
        catch
        {
            // The writer handed its hold over and drops the block on failure: the buffer can go back now.
            owner?.Release();
            throw;
        }
        Interlocked.Increment(ref _storePuts);
        Interlocked.Add(ref _storePutBytes, stored.Length);

        // The disk tier copies the stored bytes first: with in-place encoding they are the writer's buffer, which may be
        // reused as soon as the memory tier lets go of it.
        await AddToDiskAsync(key, stored).ConfigureAwait(false);
        // A block just written is likely read soon (read-back, another door); serve it without a round trip. The
        // writer handed its buffer (and its hold on it) over, so it is kept as it is rather than copied.
        AddToMemory(key, new CachedBlock(data, owner), written: true, read: false);
    }

    public ValueTask SyncAsync(CancellationToken ct) => new(_store.SyncAsync(ct));

    public async ValueTask DeleteAsync(BlockKey key, CancellationToken ct)
    {
        lock (_memoryLock)
        {
            if (_memory.Remove(key, out var dropped))
                dropped.Owner?.Release();
        }
        _disk?.Remove(key);
        await _store.DeleteAsync(key.ObjectKey, ct).ConfigureAwait(false);
    }

    public void Prefetch(BlockKey key)
    {
        if (_lifetime.IsCancellationRequested)
            return;
        lock (_loadsLock)
        {
            if (_loads.ContainsKey(key))
                return;
            lock (_memoryLock)
            {
                if (_memory.Contains(key))
                    return;
            }
        }
        if (Interlocked.Increment(ref _prefetching) > _options.MaxPrefetches)
        {
            Interlocked.Decrement(ref _prefetching);
            Interlocked.Increment(ref _prefetchesDropped);
            return;
        }
        _ = PrefetchAsync(key);
    }

    /// <summary>Cancels loads in flight (prefetches included) and waits for them to stop; later loads fail as cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        await _memoryWatch.ConfigureAwait(false);
        while (true)
        {
            BlockLoad[] pending;
            lock (_loadsLock)
                pending = [.. _loads.Values];
            if (pending.Length == 0)
                return;
            foreach (var load in pending)
            {
                try
                {
                    await load.Completion.Task.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Their readers have seen the failure; disposal only waits for them to stop.
                }
            }
        }
    }

    private async Task PrefetchAsync(BlockKey key)
    {
        try
        {
            await Load(key, reader: false).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A failed prefetch costs nothing: the reader that needs the block will load it and see the error.
            LogPrefetchFailed(_logger, key.ObjectKey, e);
        }
        finally
        {
            Interlocked.Decrement(ref _prefetching);
        }
    }

    /// <summary>
    /// The one load in flight for a block, starting it when there is none. A <paramref name="reader"/> is handed the
    /// block held for it, and lets go of it when done.
    /// </summary>
    private Task<CachedBlock> Load(BlockKey key, bool reader)
    {
        BlockLoad load;
        lock (_loadsLock)
        {
            if (_loads.TryGetValue(key, out var running))
            {
                if (reader)
                    running.Readers++;
                return running.Completion.Task;
            }
            // A load that finished between the caller's memory check and here has already filled the memory tier. A
            // prefetch only looks, so that the block still counts as unread.
            lock (_memoryLock)
            {
                if (!reader && _memory.Contains(key))
                    return Task.FromResult(default(CachedBlock));
                if (reader && _memory.TryGet(key, out var block))
                {
                    block.Owner?.Retain();
                    return Task.FromResult(block);
                }
            }
            load = new BlockLoad { Readers = reader ? 1 : 0 };
            _loads.Add(key, load);
        }
        _ = RunLoadAsync(key, load);
        return load.Completion.Task;
    }

    private async Task RunLoadAsync(BlockKey key, BlockLoad load)
    {
        try
        {
            var block = await FetchAsync(key, _lifetime.Token).ConfigureAwait(false);
            lock (_loadsLock)
            {
                // Once the load is gone from the table no reader can join it, so the count of holds to hand out is final.
                _loads.Remove(key);
                for (var i = 0; i < load.Readers; i++)
                    block.Owner?.Retain();
                AddToMemory(key, block, written: false, read: load.Readers > 0);
            }
            load.Completion.SetResult(block);
        }
        catch (Exception e)
        {
            lock (_loadsLock)
                _loads.Remove(key);
            if (e is OperationCanceledException)
                load.Completion.SetCanceled(_lifetime.Token);
            else
                load.Completion.SetException(e);
        }
    }

    /// <summary>Reads and decodes a block; a block in a reusable buffer comes back held once, by the caller.</summary>
    private async Task<CachedBlock> FetchAsync(BlockKey key, CancellationToken ct)
    {
        if (_disk is not null && await _disk.TryReadAsync(key, ct).ConfigureAwait(false) is { } cached)
        {
            try
            {
                var block = Decode(key, cached);
                Interlocked.Increment(ref _diskHits);
                return new CachedBlock(block, null);
            }
            catch (CorruptObjectException e)
            {
                Interlocked.Increment(ref _diskCorruptions);
                LogDiskCorrupt(_logger, key.ObjectKey, e.Message);
                _disk.Remove(key);
            }
        }

        try
        {
            return await FetchFromStoreAsync(key, ct).ConfigureAwait(false);
        }
        catch (CorruptObjectException e)
        {
            // A body damaged on the way, or torn by an overwrite on a server whose puts are not atomic (a retried
            // upload of the same block): a second read gets it whole. Damage that lasts fails again and reaches the
            // reader as EIO, never as data.
            LogStoreCorrupt(_logger, key.ObjectKey, e.Message);
            return await FetchFromStoreAsync(key, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Reads and decodes a block from the object store (keeping its stored form in the disk tier).</summary>
    private async Task<CachedBlock> FetchFromStoreAsync(BlockKey key, CancellationToken ct)
    {
        if (Buffers is null || key.Size != Buffers.Capacity)
        {
            var stored = await _store.GetAsync(key.ObjectKey, ct).ConfigureAwait(false);
            CountGet(stored.Length);
            var decoded = Decode(key, stored);
            await AddToDiskAsync(key, stored).ConfigureAwait(false);
            return new CachedBlock(decoded, null);
        }

        var buffer = Buffers.Rent(hugePages: true);
        try
        {
            var length = await _store.GetAsync(key.ObjectKey, buffer.ObjectSpace, ct).ConfigureAwait(false);
            CountGet(length);
            var stored = buffer.ObjectSpace[..length];
            var decoded = Decode(key, stored);
            await AddToDiskAsync(key, stored).ConfigureAwait(false);
            // A plain block decodes to a view of the bytes read, which stay in the buffer; anything else was decoded
            // into memory of its own and the buffer can go back at once.
            if (buffer.Holds(decoded))
                return new CachedBlock(decoded, buffer);
            buffer.Release();
            return new CachedBlock(decoded, null);
        }
        catch
        {
            buffer.Release();
            throw;
        }
    }

    private void CountGet(int bytes)
    {
        Interlocked.Increment(ref _storeGets);
        Interlocked.Add(ref _storeGetBytes, bytes);
    }

    private ReadOnlyMemory<byte> Decode(BlockKey key, ReadOnlyMemory<byte> stored)
    {
        var block = _codec.Decode(key.ObjectKey, stored);
        if (block.Length != key.Size)
            throw new CorruptObjectException(key.ObjectKey, $"decoded to {block.Length} bytes, the block holds {key.Size}");
        return block;
    }

    /// <summary>
    /// Keeps a block in the memory tier, which takes over the caller's hold on its buffer: a block
    /// <paramref name="written"/> in the main queue, one loaded on probation (see <see cref="MemoryTier{TValue}"/>).
    /// </summary>
    private void AddToMemory(BlockKey key, CachedBlock block, bool written, bool read)
    {
        // Account for all the memory behind the block: a writer's buffer may be larger than the bytes it holds.
        var bytes = block.Owner?.Footprint
            ?? (MemoryMarshal.TryGetArray(block.Data, out var segment) && segment.Array is not null ? segment.Array.Length : block.Data.Length);
        var limit = MemoryLimit;
        if (bytes > limit)
        {
            block.Owner?.Release();
            return;
        }
        lock (_memoryLock)
            _memory.Add(key, block, bytes, written, read, limit);
    }

    private async Task AddToDiskAsync(BlockKey key, ReadOnlyMemory<byte> stored)
    {
        if (_disk is null)
            return;
        try
        {
            await _disk.StoreAsync(key, stored, _lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The disk tier is an optimisation: a full or failing cache disk must not fail reads or writes.
            LogDiskWriteFailed(_logger, key.ObjectKey, e);
        }
    }

    /// <summary>A block in the memory tier: its data and, when that lies in a reusable buffer, the buffer.</summary>
    private readonly record struct CachedBlock(ReadOnlyMemory<byte> Data, BlockBuffer? Owner);

    /// <summary>A load in flight and the readers waiting on it, each of whom is handed a hold on the block.</summary>
    private sealed class BlockLoad
    {
        public TaskCompletionSource<CachedBlock> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Guarded by the cache's loads lock.</summary>
        public int Readers { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disk cache copy of {ObjectKey} is damaged ({Reason}); fetching it from the store")]
    private static partial void LogDiskCorrupt(ILogger logger, string objectKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Object {ObjectKey} read from the store is damaged ({Reason}); reading it once more")]
    private static partial void LogStoreCorrupt(ILogger logger, string objectKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not keep {ObjectKey} in the disk cache")]
    private static partial void LogDiskWriteFailed(ILogger logger, string objectKey, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory cache gave back {EvictedMiB} MiB: the machine has {AvailableMiB} MiB left, so the cache holds at most {LimitMiB} MiB for now")]
    private static partial void LogMemoryShrunk(ILogger logger, long evictedMiB, long availableMiB, long limitMiB);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped watching the memory left; the memory cache keeps its configured size")]
    private static partial void LogMemoryWatchFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefetch of {ObjectKey} failed")]
    private static partial void LogPrefetchFailed(ILogger logger, string objectKey, Exception error);
}

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
/// The cache does not own the object store; whoever created the store disposes it.
/// </remarks>
public sealed partial class BlockCache : IBlockStore, IAsyncDisposable
{
    private readonly IObjectStore _store;
    private readonly BlockCodec _codec;
    private readonly BlockCacheOptions _options;
    private readonly ILogger _logger;
    private readonly DiskBlockCache? _disk;
    private readonly SemaphoreSlim _uploadSlots;
    private readonly CancellationTokenSource _lifetime = new();

    private readonly Lock _memoryLock = new();
    private readonly BlockLru<ReadOnlyMemory<byte>> _memory = new();

    // Lock order: _loadsLock, then _memoryLock.
    private readonly Lock _loadsLock = new();
    private readonly Dictionary<BlockKey, Task<ReadOnlyMemory<byte>>> _loads = [];

    private int _prefetching;
    private long _memoryHits, _memoryMisses, _diskHits, _storeGets, _storeGetBytes, _storePuts, _storePutBytes;
    private long _memoryEvictions, _diskCorruptions, _prefetchesDropped;

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
    }

    public BlockCacheStats Stats
    {
        get
        {
            long memoryBytes;
            int memoryBlocks;
            lock (_memoryLock)
            {
                memoryBytes = _memory.Bytes;
                memoryBlocks = _memory.Count;
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
                Interlocked.Read(ref _memoryEvictions),
                _disk?.Bytes ?? 0,
                _disk?.Count ?? 0,
                _disk?.Evictions ?? 0,
                Interlocked.Read(ref _diskCorruptions),
                Interlocked.Read(ref _prefetchesDropped));
        }
    }

    public async ValueTask ReadAsync(BlockKey key, int offset, Memory<byte> destination, CancellationToken ct)
    {
        if (offset < 0 || (long)offset + destination.Length > key.Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {(long)offset + destination.Length}) are outside block {key.ObjectKey}");

        ReadOnlyMemory<byte> block;
        bool hit;
        lock (_memoryLock)
            hit = _memory.TryGet(key, out block);
        if (hit)
        {
            Interlocked.Increment(ref _memoryHits);
        }
        else
        {
            Interlocked.Increment(ref _memoryMisses);
            // The load is shared with other readers, so this reader's cancellation only stops its own wait.
            block = await Load(key).WaitAsync(ct).ConfigureAwait(false);
        }
        block.Span.Slice(offset, destination.Length).CopyTo(destination.Span);
    }

    public async ValueTask WriteAsync(BlockKey key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.Length != key.Size)
            throw new ArgumentException($"block {key.ObjectKey} holds {key.Size} bytes, got {data.Length}", nameof(data));

        ReadOnlyMemory<byte> stored;
        // Encoding happens inside the slot too, so encoded copies in memory are bounded by the same limit.
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
        Interlocked.Increment(ref _storePuts);
        Interlocked.Add(ref _storePutBytes, stored.Length);

        // A block just written is likely read soon (read-back, another door); serve it without a round trip. The
        // writer handed its buffer over, so it is kept as it is rather than copied.
        AddToMemory(key, data);
        await AddToDiskAsync(key, stored).ConfigureAwait(false);
    }

    public ValueTask SyncAsync(CancellationToken ct) => new(_store.SyncAsync(ct));

    public async ValueTask DeleteAsync(BlockKey key, CancellationToken ct)
    {
        lock (_memoryLock)
            _memory.Remove(key, out _);
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
        while (true)
        {
            Task[] pending;
            lock (_loadsLock)
                pending = [.. _loads.Values];
            if (pending.Length == 0)
                return;
            foreach (var load in pending)
            {
                try
                {
                    await load.ConfigureAwait(false);
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
            await Load(key).ConfigureAwait(false);
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

    /// <summary>The one load in flight for a block, starting it when there is none.</summary>
    private Task<ReadOnlyMemory<byte>> Load(BlockKey key)
    {
        TaskCompletionSource<ReadOnlyMemory<byte>> completion;
        lock (_loadsLock)
        {
            if (_loads.TryGetValue(key, out var running))
                return running;
            // A load that finished between the caller's memory check and here has already filled the memory tier.
            lock (_memoryLock)
            {
                if (_memory.TryGet(key, out var block))
                    return Task.FromResult(block);
            }
            completion = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
            _loads.Add(key, completion.Task);
        }
        _ = RunLoadAsync(key, completion);
        return completion.Task;
    }

    private async Task RunLoadAsync(BlockKey key, TaskCompletionSource<ReadOnlyMemory<byte>> completion)
    {
        try
        {
            var block = await FetchAsync(key, _lifetime.Token).ConfigureAwait(false);
            AddToMemory(key, block);
            lock (_loadsLock)
                _loads.Remove(key);
            completion.SetResult(block);
        }
        catch (Exception e)
        {
            lock (_loadsLock)
                _loads.Remove(key);
            if (e is OperationCanceledException)
                completion.SetCanceled(_lifetime.Token);
            else
                completion.SetException(e);
        }
    }

    private async Task<ReadOnlyMemory<byte>> FetchAsync(BlockKey key, CancellationToken ct)
    {
        if (_disk is not null && await _disk.TryReadAsync(key, ct).ConfigureAwait(false) is { } cached)
        {
            try
            {
                var block = Decode(key, cached);
                Interlocked.Increment(ref _diskHits);
                return block;
            }
            catch (CorruptObjectException e)
            {
                Interlocked.Increment(ref _diskCorruptions);
                LogDiskCorrupt(_logger, key.ObjectKey, e.Message);
                _disk.Remove(key);
            }
        }

        var stored = await _store.GetAsync(key.ObjectKey, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _storeGets);
        Interlocked.Add(ref _storeGetBytes, stored.Length);
        var decoded = Decode(key, stored);
        await AddToDiskAsync(key, stored).ConfigureAwait(false);
        return decoded;
    }

    private ReadOnlyMemory<byte> Decode(BlockKey key, byte[] stored)
    {
        var block = _codec.Decode(key.ObjectKey, stored);
        if (block.Length != key.Size)
            throw new CorruptObjectException(key.ObjectKey, $"decoded to {block.Length} bytes, the block holds {key.Size}");
        return block;
    }

    private void AddToMemory(BlockKey key, ReadOnlyMemory<byte> block)
    {
        // Account for the whole array behind the block: a writer's buffer may be larger than the bytes it holds.
        var bytes = MemoryMarshal.TryGetArray(block, out var segment) && segment.Array is not null ? segment.Array.Length : block.Length;
        if (bytes > _options.MemoryBytes)
            return;
        lock (_memoryLock)
        {
            _memory.Set(key, block, bytes);
            while (_memory.Bytes > _options.MemoryBytes && _memory.TryRemoveOldest(out _, out _))
                _memoryEvictions++;
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disk cache copy of {ObjectKey} is damaged ({Reason}); fetching it from the store")]
    private static partial void LogDiskCorrupt(ILogger logger, string objectKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not keep {ObjectKey} in the disk cache")]
    private static partial void LogDiskWriteFailed(ILogger logger, string objectKey, Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefetch of {ObjectKey} failed")]
    private static partial void LogPrefetchFailed(ILogger logger, string objectKey, Exception error);
}

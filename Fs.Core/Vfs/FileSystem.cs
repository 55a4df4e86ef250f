using System.Collections.Concurrent;
using System.Diagnostics;
using Fs.Core.Cache;
using Fs.Core.Chunks;
using Fs.Core.Locks;
using Fs.Core.Meta;
using Fs.Core.Metrics;
using Fs.Core.Objects;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Vfs;

/// <summary>
/// The one file system of a volume, shared by every door. Inode-based, asynchronous, permission-checked against a
/// <see cref="Caller"/>; every failure is a POSIX errno.
/// </summary>
public sealed partial class FileSystem : IAsyncDisposable
{
    private readonly IMetaEngine _meta;
    private readonly IObjectStore _store;
    private readonly BlockCodec _codec;
    private readonly BlockCache _cache;
    private readonly ChunkLayout _layout;
    private readonly ChunkReader _reader;
    private readonly Compactor _compactor;
    private readonly SliceDeleter _deleter;
    private readonly LockManager _locks;
    private readonly FileSystemOptions _options;
    private readonly ILogger _logger;
    private readonly FileSystemMetrics _metrics;
    private readonly IDisposable _metricsCollector;
    private readonly ConcurrentDictionary<ulong, FileWriter> _writers = new();
    private readonly ConcurrentDictionary<long, FileHandle> _handles = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sessionLoop;
    private readonly Task _trashLoop;
    private long _nextHandle;
    private int _disposed;

    private FileSystem(
        FileSystemOptions options, VolumeFormat format, IMetaEngine meta, IObjectStore store, BlockCodec codec,
        BlockCache cache, long session, FileSystemMetrics metrics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _metrics = metrics;
        Format = format;
        _meta = meta;
        _store = store;
        _codec = codec;
        _cache = cache;
        Session = session;
        _logger = loggerFactory.CreateLogger<FileSystem>();
        _layout = new ChunkLayout(format.BlockSize);
        _reader = new ChunkReader(meta, cache, _layout);
        _compactor = new Compactor(meta, cache, _layout, options.CompactThreshold, _logger);
        _deleter = new SliceDeleter(meta, cache, _layout, options.DeletionInterval, _logger);
        _locks = new LockManager(new MetaLockStore(meta), new LockManagerOptions(), loggerFactory.CreateLogger<LockManager>());
        _sessionLoop = Task.Run(SessionLoopAsync);
        _trashLoop = Task.Run(TrashLoopAsync);
        if ((meta is InstrumentedMetaEngine counted ? counted.Inner : meta) is IMetaChangeFeed feed)
        {
            // Other appliances' changes: wake lock waiters at once, and tell doors with caches what went stale.
            feed.LocksChanged += _locks.NotifyChanged;
            feed.InodesChanged += ino =>
            {
                Notify(ChangeKind.Attributes, ino, origin: RemoteOrigin);
                Notify(ChangeKind.Data, ino, origin: RemoteOrigin);
            };
            // Whether the name went or came is not said: dropping a cached entry is right either way (inode 0: unknown).
            feed.EntriesChanged += (parent, name) => Notify(ChangeKind.EntryRemoved, 0, parent, name, origin: RemoteOrigin);
        }
        _metricsCollector = metrics.Attach(this);
    }

    /// <summary>The <see cref="ChangeNotice.Origin"/> of changes made by other appliances on the volume.</summary>
    public static readonly object RemoteOrigin = new();

    /// <summary>The volume's format, reloaded with every heartbeat so settings changed by `appliance config` apply while serving.</summary>
    public VolumeFormat Format { get; private set; }

    public IMetaEngine Meta => _meta;

    public LockManager Locks => _locks;

    public IObjectStore ObjectStore => _store;

    /// <summary>Where this volume's metrics are kept.</summary>
    public FileSystemMetrics Metrics => _metrics;

    internal int OpenHandleCount => _handles.Count;

    /// <summary>This process's session id in the metadata engine.</summary>
    public long Session { get; }

    /// <summary>Raised after every change to names, attributes or data, whichever door made it.</summary>
    public event Action<ChangeNotice>? Changed;

    /// <summary>
    /// Marks the calls made by the current asynchronous flow as coming from <paramref name="door"/>, so notices of the
    /// changes they make carry it as <see cref="ChangeNotice.Origin"/>. Dispose the result to end the mark.
    /// </summary>
    public static OriginScope EnterDoor(object door) => EnterDoor(door, null);

    /// <summary>
    /// Like <see cref="EnterDoor(object)"/>, and names the client (e.g. its address and user) in the volume's error and
    /// debug logs of the calls made in the flow.
    /// </summary>
    public static OriginScope EnterDoor(object door, string? client)
    {
        var scope = new OriginScope(CurrentOrigin.Value, CurrentClient.Value);
        CurrentOrigin.Value = door;
        CurrentClient.Value = client;
        return scope;
    }

    private static readonly AsyncLocal<object?> CurrentOrigin = new();
    private static readonly AsyncLocal<string?> CurrentClient = new();

    /// <summary>Restores the previous origin and client when disposed.</summary>
    public readonly struct OriginScope(object? previous, string? previousClient = null) : IDisposable
    {
        public void Dispose()
        {
            CurrentOrigin.Value = previous;
            CurrentClient.Value = previousClient;
        }
    }

    private void Notify(ChangeKind kind, ulong ino, ulong parent = 0, string? name = null, long offset = 0, long length = 0, object? origin = null)
    {
        var handler = Changed;
        if (handler is null)
            return;
        try
        {
            handler(new ChangeNotice(kind, ino, parent, name, offset, length, origin ?? CurrentOrigin.Value));
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "a change listener failed on {Kind} of inode {Ino}", kind, ino);
        }
    }

    /// <summary>Hit and miss counters of the block cache.</summary>
    public BlockCacheStats CacheStats => _cache.Stats;

    /// <summary>Empties the memory cache of blocks (the disk tier keeps its files); returns the bytes let go.</summary>
    public long DropMemoryCache() => _cache.DropMemory();

    /// <summary>The block cache's reusable buffers, for tests that check every hold on them is let go.</summary>
    internal BlockBufferPool? BlockBuffers => _cache.Buffers;

    /// <summary>Formats a new volume; throws <see cref="VolumeException"/> when it is already formatted or a URL is bad.</summary>
    public static async Task<VolumeFormat> FormatAsync(FormatOptions options, CancellationToken ct = default)
    {
        if (options.BlockSize < 4096 || options.BlockSize > 64 << 20 || (options.BlockSize & (options.BlockSize - 1)) != 0)
            throw new VolumeException($"block size must be a power of two between 4 KiB and 64 MiB, not {options.BlockSize}");
        var compression = BlockCompressions.Parse(options.Compression);
        if (options.TrashDays < 0)
            throw new VolumeException("trash days cannot be negative");
        string? fingerprint = null;
        if (options.EncryptKeyFile is not null)
            fingerprint = BlockCodec.KeyFingerprint(BlockCodec.LoadKey(options.EncryptKeyFile));

        await using var meta = MetaEngines.Open(options.MetaUrl);
        var existing = await meta.LoadFormatAsync(ct).ConfigureAwait(false);
        if (existing is not null)
            throw new VolumeException($"{meta.Description} already holds volume '{existing.Name}' ({existing.Uuid})");
        await using (var store = ObjectStores.Open(options.StorageUrl))
            await store.CreateAsync(ct).ConfigureAwait(false);
        var format = new VolumeFormat
        {
            Name = options.Name,
            Uuid = Guid.NewGuid(),
            Storage = options.StorageUrl,
            BlockSize = options.BlockSize,
            Compression = compression.Name(),
            Encrypted = fingerprint is not null,
            KeyFingerprint = fingerprint,
            TrashDays = options.TrashDays,
            CapacityBytes = options.CapacityBytes,
            InodeLimit = options.InodeLimit,
            HandleKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            CreatedUtc = DateTime.UtcNow,
        };
        var result = await meta.FormatAsync(format, ct).ConfigureAwait(false);
        if (result != Errno.OK)
            throw new VolumeException($"formatting {meta.Description} failed: {result}");
        return format;
    }

    /// <summary>Opens a formatted volume; throws <see cref="VolumeException"/> with an operator-readable message when it cannot.</summary>
    public static async Task<FileSystem> OpenAsync(FileSystemOptions options, ILoggerFactory? loggerFactory = null, CancellationToken ct = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var metrics = options.Metrics ?? new FileSystemMetrics(new MetricsRegistry());
        IMetaEngine meta = new InstrumentedMetaEngine(MetaEngines.Open(options.MetaUrl, loggerFactory), metrics);
        IObjectStore? store = null;
        try
        {
            var format = await meta.LoadFormatAsync(ct).ConfigureAwait(false)
                ?? throw new VolumeException($"{meta.Description} holds no volume; run `appliance format` first");
            if (format.Encrypted && options.EncryptKeyFile is null)
                throw new VolumeException($"volume '{format.Name}' is encrypted; give its key file (--encrypt-key)");
            var codec = BlockCodec.ForVolume(format, options.EncryptKeyFile is null ? null : BlockCodec.LoadKey(options.EncryptKeyFile));
            var opened = ObjectStores.Open(options.StorageUrl ?? format.Storage);
            store = new InstrumentedObjectStore(opened, metrics);
            var cacheOptions = BlockCacheOptions.From(options) with { BlockBytes = format.BlockSize };
            // A disk tier in front of a local directory would only copy blocks from one local disk to another.
            if (opened is LocalDirectoryStore)
                cacheOptions = cacheOptions with { DiskDir = null };
            var cache = new BlockCache(store, codec, cacheOptions, loggerFactory.CreateLogger<BlockCache>());
            var session = await meta.RegisterSessionAsync(Environment.MachineName, Environment.ProcessId,
                typeof(FileSystem).Assembly.GetName().Version?.ToString() ?? "0", options.SessionDoors, ct).ConfigureAwait(false);
            // Sessions of crashed runs that the engine can tell are dead go now, not after the heartbeat timeout, so
            // their locks do not stand in the way of the clients reclaiming them after this restart.
            await meta.CleanStaleSessionsAsync(options.SessionTimeout, ct).ConfigureAwait(false);
            return new FileSystem(options, format, meta, store, codec, cache, session, metrics, loggerFactory);
        }
        catch
        {
            if (store is not null)
                await store.DisposeAsync().ConfigureAwait(false);
            await meta.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Records in this process's session the doors serving the volume, so `appliance status` anywhere lists them.</summary>
    public ValueTask SetSessionDoorsAsync(string doors, CancellationToken ct = default) => _meta.SetSessionDoorsAsync(Session, doors, ct);

    /// <summary>Reads a block straight from the object store (bypassing the cache) and checks it decodes; false when missing or corrupt.</summary>
    public async ValueTask<bool> VerifyBlockAsync(BlockKey key, CancellationToken ct = default)
    {
        try
        {
            var encoded = await _store.GetAsync(key.ObjectKey, ct).ConfigureAwait(false);
            return _codec.Decode(key.ObjectKey, encoded).Length == key.Size;
        }
        catch (ObjectNotFoundException)
        {
            return false;
        }
        catch (CorruptObjectException)
        {
            return false;
        }
    }

    /// <summary>Compacts one chunk now if it has more than one slice (gc --compact).</summary>
    public Task<bool> CompactChunkAsync(ulong ino, uint chunk, CancellationToken ct = default) =>
        _compactor.CompactAsync(ino, chunk, force: true, ct);

    /// <summary>Deletes the blocks of every unreferenced slice now; returns how many slices went.</summary>
    public Task<int> DeletePendingSlicesAsync(CancellationToken ct = default) => _deleter.DeletePendingAsync(ct);

    /// <summary>Flushes every buffered write, ends the session and closes the engines.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _metricsCollector.Dispose();
        foreach (var writer in _writers.Values)
        {
            await writer.Lock.WaitAsync().ConfigureAwait(false);
            try
            {
                await writer.CommitAsync(durable: false, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "flushing inode {Ino} at shutdown failed; its unflushed writes are lost", writer.Ino);
            }
            finally
            {
                writer.Lock.Release();
            }
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sessionLoop.ConfigureAwait(false);
        await _trashLoop.ConfigureAwait(false);
        await _compactor.DisposeAsync().ConfigureAwait(false);
        await _deleter.DisposeAsync().ConfigureAwait(false);
        await _locks.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _meta.SyncAsync(CancellationToken.None).ConfigureAwait(false);
            await _meta.CloseSessionAsync(Session, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "closing session {Session} failed; other appliances will clean it up", Session);
        }
        await _cache.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        await _meta.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task SessionLoopAsync()
    {
        var ct = _stop.Token;
        // Stale sessions are looked for once a beat, so one is judged stale a beat early: a session that stopped right after
        // its last beat is then cleaned no later than SessionTimeout after it stopped, not a beat past it. The beats keep
        // their period however long a round takes (a timer, not a delay after the work), so that bound holds under load.
        var staleAfter = _options.SessionTimeout > 2 * _options.HeartbeatInterval
            ? _options.SessionTimeout - _options.HeartbeatInterval
            : _options.SessionTimeout;
        using var beats = new PeriodicTimer(_options.HeartbeatInterval);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await beats.WaitForNextTickAsync(ct).ConfigureAwait(false);
                await _meta.HeartbeatAsync(Session, ct).ConfigureAwait(false);
                var cleaned = await _meta.CleanStaleSessionsAsync(staleAfter, ct).ConfigureAwait(false);
                foreach (var id in cleaned)
                    _logger.LogWarning("session {Session} stopped beating; its locks and open files were released", id);
                if (cleaned.Count > 0)
                {
                    // The other appliances hear of the released locks from the engine; this one's own waiters would only
                    // notice at their next poll.
                    _locks.NotifyAllChanged();
                    _deleter.Wake();
                }
                Format = await _meta.LoadFormatAsync(ct).ConfigureAwait(false) ?? Format;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "session heartbeat failed");
            }
        }
    }

    /// <summary>Runs a metadata-only operation, turning failures of the engine into errno results.</summary>
    private async ValueTask<Result<T>> Guard<T>(string op, ulong ino, Func<ValueTask<Result<T>>> call)
    {
        var started = Stopwatch.GetTimestamp();
        Result<T> result;
        try
        {
            result = await call().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            result = Fail(op, ino, e).Error;
        }
        Completed(op, ino, started, result.Error);
        return result;
    }

    private async ValueTask<Errno> Guard(string op, ulong ino, Func<ValueTask<Errno>> call)
    {
        var started = Stopwatch.GetTimestamp();
        Errno result;
        try
        {
            result = await call().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            result = Fail(op, ino, e).Error;
        }
        Completed(op, ino, started, result);
        return result;
    }

    /// <summary>Times a data-path operation whose body maps its own failures to errno results.</summary>
    private async ValueTask<Result<T>> Measured<T>(string op, ulong ino, long started, ValueTask<Result<T>> call)
    {
        var result = Errno.EIO;
        try
        {
            var value = await call.ConfigureAwait(false);
            result = value.Error;
            return value;
        }
        catch (OperationCanceledException)
        {
            result = Errno.EINTR;
            throw;
        }
        finally
        {
            Completed(op, ino, started, result);
        }
    }

    private async ValueTask<Errno> Measured(string op, ulong ino, long started, ValueTask<Errno> call)
    {
        var result = Errno.EIO;
        try
        {
            result = await call.ConfigureAwait(false);
            return result;
        }
        catch (OperationCanceledException)
        {
            result = Errno.EINTR;
            throw;
        }
        finally
        {
            Completed(op, ino, started, result);
        }
    }

    private static string CurrentDoor => DoorLabel.Of(CurrentOrigin.Value);

    /// <summary>Counts a finished operation for the door it came through and, at debug level, logs it as a request.</summary>
    private void Completed(string op, ulong ino, long started, Errno result)
    {
        var door = CurrentDoor;
        _metrics.Completed(door, op, started, result);
        if (_logger.IsEnabled(LogLevel.Debug))
            LogRequest(door, op, ino, CurrentClient.Value ?? "-", result, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Door} {Op} inode {Ino} client {Client}: {Result} in {ElapsedMs:0.###} ms")]
    private partial void LogRequest(string door, string op, ulong ino, string client, Errno result, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Door} {Op} on inode {Ino} from client {Client} failed")]
    private partial void LogFailure(Exception error, string door, string op, ulong ino, string client);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Door} {Op} on inode {Ino} from client {Client}: {Error}")]
    private partial void LogFailure(string door, string op, ulong ino, string client, string error);
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

/// <summary>
/// The shared metadata engine: every appliance of a volume keeps its metadata in one Redis (single server, Sentinel or
/// Cluster). An operation reads what it needs, decides in C# with the same rules as the SQLite engine, and commits with one
/// Lua script that applies its writes only if nothing it read has changed meanwhile (<see cref="RedisCommit"/>); on a
/// conflict it reads again, a bounded number of times. All keys of a volume carry one hash tag, so a Redis Cluster keeps
/// them in one slot and accepts the multi-key scripts.
/// </summary>
/// <remarks>
/// While Redis is unreachable, commands wait in the client's backlog for at most <see cref="ConfigurationOptions.AsyncTimeout"/>
/// and then fail with an exception, which the file system reports as EIO; no operation waits forever, and since each commit
/// is one script, none is ever half applied.
/// </remarks>
public sealed partial class RedisMetaEngine : IMetaEngine, IMetaChangeFeed
{
    /// <summary>The layout of the keys; a volume written by a newer layout is refused.</summary>
    public const int SchemaVersion = 1;

    private const long IdBatch = 1000;
    private const int MaxAttempts = 100;
    private const int ScanPage = 1000;

    private readonly RedisMetaUrl _url;
    private readonly ILogger _logger;
    private readonly string _p;
    private readonly RedisChannel _lockChannel;
    private readonly RedisChannel _inodeChannel;
    /// <summary>Tags this engine's own notices so that it does not report its own changes back to itself.</summary>
    private readonly string _origin = Guid.NewGuid().ToString("N")[..12];
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly IdRange _inodeIds = new("next_inode");
    private readonly IdRange _cookies = new("next_cookie");
    private readonly IdRange _sliceIds = new("next_slice");
    private readonly RedisHints _hints = new();
    private ConnectionMultiplexer? _connection;
    private IDatabase? _db;
    private long _inodeLimit;
    private bool _disposed;

    /// <summary>Prepares the engine for <paramref name="url"/>; the connection is made (and the schema checked) on first use.</summary>
    public RedisMetaEngine(string url, ILoggerFactory? loggerFactory = null)
    {
        _url = RedisMetaUrl.Parse(url);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RedisMetaEngine>();
        _p = "{" + _url.Prefix + "}";
        _lockChannel = RedisChannel.Literal(_p + "locks");
        _inodeChannel = RedisChannel.Literal(_p + "inodes");
    }

    public string Description => _url.Display;

    /// <summary>Requests this appliance has sent to Redis so far, each a round trip unless pipelined with others; benchmarks count them.</summary>
    public long RequestsSent => _connection?.OperationCount ?? 0;

    public event Action<ulong>? LocksChanged;

    public event Action<ulong>? InodesChanged;

    public event Action<ulong, string>? EntriesChanged;

    // ---- keys ----

    private RedisKey FormatKey => _p + "format";
    private RedisKey SchemaKey => _p + "schema";
    private RedisKey CountersKey => _p + "counters";
    private RedisKey RefsKey => _p + "refs";
    private RedisKey PendingKey => _p + "pending";
    private RedisKey SessionsKey => _p + "sessions";
    private RedisKey LockedKey => _p + "locked";
    private RedisKey DeletedKey => _p + "deleted";
    private RedisKey InodeKey(ulong ino) => _p + "i:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey EntriesKey(ulong dir) => _p + "d:" + dir.ToString(CultureInfo.InvariantCulture);
    private RedisKey CookiesKey(ulong dir) => _p + "z:" + dir.ToString(CultureInfo.InvariantCulture);
    private RedisKey SymlinkKey(ulong ino) => _p + "s:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey XattrKey(ulong ino) => _p + "x:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey ChunksKey(ulong ino) => _p + "c:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey OpenKey(ulong ino) => _p + "o:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey LocksKey(ulong ino) => _p + "l:" + ino.ToString(CultureInfo.InvariantCulture);
    private RedisKey SessionKey(long session) => _p + "session:" + session.ToString(CultureInfo.InvariantCulture);
    private RedisKey SessionOpenKey(long session) => _p + "so:" + session.ToString(CultureInfo.InvariantCulture);

    private static string Decimal(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Decimal(long value) => value.ToString(CultureInfo.InvariantCulture);

    // ---- connection ----

    private async ValueTask<IDatabase> DbAsync(CancellationToken ct)
    {
        if (_db is { } ready)
            return ready;
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_db is { } raced)
                return raced;
            ConnectionMultiplexer connection;
            try
            {
                connection = await ConnectionMultiplexer.ConnectAsync(_url.Options).ConfigureAwait(false);
            }
            catch (RedisException e)
            {
                throw new VolumeException($"Cannot reach the metadata Redis at {Description}: {e.Message}", e);
            }
            try
            {
                var db = connection.GetDatabase();
                var stored = await db.StringGetAsync(SchemaKey).ConfigureAwait(false);
                if (stored.HasValue && (long)stored > SchemaVersion)
                    throw new VolumeException(
                        $"The metadata at {Description} has schema version {stored}, newer than this appliance supports ({SchemaVersion}). Upgrade the appliance.");
                var subscriber = connection.GetSubscriber();
                await subscriber.SubscribeAsync(_lockChannel, (_, message) => Deliver(message, LocksChanged)).ConfigureAwait(false);
                await subscriber.SubscribeAsync(_inodeChannel, (_, message) => Deliver(message, InodesChanged, _hints.Forget, EntriesChanged)).ConfigureAwait(false);
                _connection = connection;
                _db = db;
                return db;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>
    /// Raises a notice of another appliance's change: "INO INO ... ORIGIN" for inodes whose attributes or data changed,
    /// "E PARENT ORIGIN NAME" for a name in a directory. Our own notices carry our origin and are skipped.
    /// </summary>
    private void Deliver(RedisValue message, Action<ulong>? handler, Action<ulong>? forget = null, Action<ulong, string>? entryHandler = null)
    {
        var text = (string?)message;
        if (text is null)
            return;
        if (text.StartsWith(RedisCommit.EntryMark, StringComparison.Ordinal))
        {
            DeliverEntry(text.AsSpan(RedisCommit.EntryMark.Length), forget, entryHandler);
            return;
        }
        if (handler is null && forget is null)
            return;
        var span = text.AsSpan();
        var space = span.LastIndexOf(' ');
        if (space <= 0 || span[(space + 1)..].SequenceEqual(_origin))
            return;
        foreach (var range in span[..space].Split(' '))
        {
            if (!ulong.TryParse(span[range], NumberStyles.None, CultureInfo.InvariantCulture, out var ino))
                continue;
            forget?.Invoke(ino);
            if (handler is null)
                continue;
            try
            {
                handler(ino);
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "A change listener failed on inode {Ino}", ino);
            }
        }
    }

    private void DeliverEntry(ReadOnlySpan<char> notice, Action<ulong>? forget, Action<ulong, string>? entryHandler)
    {
        var space = notice.IndexOf(' ');
        if (space <= 0 || !ulong.TryParse(notice[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            return;
        var rest = notice[(space + 1)..];
        var nameAt = rest.IndexOf(' ');
        if (nameAt <= 0 || rest[..nameAt].SequenceEqual(_origin))
            return;
        forget?.Invoke(parent);
        try
        {
            entryHandler?.Invoke(parent, rest[(nameAt + 1)..].ToString());
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A change listener failed on entries of directory {Ino}", parent);
        }
    }

    // ---- operations ----

    /// <summary>
    /// Runs <paramref name="operation"/> until its commit finds everything it read unchanged, at most
    /// <see cref="MaxAttempts"/> times. An errno outcome (thrown as <see cref="FsException"/> or returned) commits nothing,
    /// but is confirmed the same way, since the reads behind it were not one snapshot. The first attempt is speculative:
    /// it decides on remembered values (<see cref="RedisHints"/>) where it has them, so the common case is one round trip.
    /// </summary>
    private async ValueTask<Result<T>> MutateAsync<T>(Func<IDatabaseAsync, RedisCommit, Task<Result<T>>> operation, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var commit = new RedisCommit { Speculative = attempt == 0 };
            Result<T> result;
            try
            {
                result = await operation(db, commit).ConfigureAwait(false);
            }
            catch (FsException e)
            {
                result = e.Errno;
            }
            var write = result.Ok && commit.HasWrites;
            var done = write
                ? await commit.ExecuteAsync(db, _inodeChannel, _lockChannel, _origin).ConfigureAwait(false)
                : await commit.ValidateAsync(db).ConfigureAwait(false);
            commit.Settle(_hints, done, write);
            if (done)
                return result;
            await BackOffAsync(attempt, ct).ConfigureAwait(false);
        }
        throw new IOException($"A metadata operation on {Description} conflicted with others {MaxAttempts} times in a row.");
    }

    /// <summary>Conflicts mean another appliance is changing the same inodes; after a few quick retries, spread them out.</summary>
    private static Task BackOffAsync(int attempt, CancellationToken ct) =>
        attempt < 3 ? Task.CompletedTask : Task.Delay(Random.Shared.Next(1, Math.Min(50, 2 << Math.Min(attempt, 5))), ct);

    private static Result<T> Fail<T>(Errno errno) => new(errno);

    // ---- ids ----

    private async Task<ulong> TakeIdAsync(IDatabaseAsync db, IdRange range)
    {
        while (true)
        {
            if (range.TryTake(out var id))
                return id;
            var end = await db.HashIncrementAsync(CountersKey, range.Counter, IdBatch).ConfigureAwait(false);
            range.Refill(end, IdBatch);
        }
    }

    // ---- inodes ----

    private const int InodeBytes = 61;

    private static byte[] EncodeInode(InodeAttr a)
    {
        var b = new byte[InodeBytes];
        var s = b.AsSpan();
        s[0] = (byte)a.Type;
        BinaryPrimitives.WriteUInt32LittleEndian(s[1..], a.Mode);
        BinaryPrimitives.WriteUInt32LittleEndian(s[5..], a.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[9..], a.Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[13..], a.Nlink);
        BinaryPrimitives.WriteInt64LittleEndian(s[17..], a.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[25..], a.Rdev);
        BinaryPrimitives.WriteInt64LittleEndian(s[29..], a.Atime);
        BinaryPrimitives.WriteInt64LittleEndian(s[37..], a.Mtime);
        BinaryPrimitives.WriteInt64LittleEndian(s[45..], a.Ctime);
        BinaryPrimitives.WriteUInt64LittleEndian(s[53..], a.Parent);
        return b;
    }

    private static InodeAttr DecodeInode(ulong ino, ReadOnlySpan<byte> s)
    {
        if (s.Length != InodeBytes)
            throw new InvalidDataException($"Inode {ino} is stored as {s.Length} bytes, not {InodeBytes}.");
        return new InodeAttr
        {
            Ino = ino,
            Type = (FileType)s[0],
            Mode = BinaryPrimitives.ReadUInt32LittleEndian(s[1..]),
            Uid = BinaryPrimitives.ReadUInt32LittleEndian(s[5..]),
            Gid = BinaryPrimitives.ReadUInt32LittleEndian(s[9..]),
            Nlink = BinaryPrimitives.ReadUInt32LittleEndian(s[13..]),
            Size = BinaryPrimitives.ReadInt64LittleEndian(s[17..]),
            Rdev = BinaryPrimitives.ReadUInt32LittleEndian(s[25..]),
            Atime = BinaryPrimitives.ReadInt64LittleEndian(s[29..]),
            Mtime = BinaryPrimitives.ReadInt64LittleEndian(s[37..]),
            Ctime = BinaryPrimitives.ReadInt64LittleEndian(s[45..]),
            Parent = BinaryPrimitives.ReadUInt64LittleEndian(s[53..]),
        };
    }

    private static InodeAttr? DecodeInode(ulong ino, RedisValue value) =>
        value.IsNull ? null : DecodeInode(ino, ((ReadOnlyMemory<byte>)value).Span);

    /// <summary>Reads (or, speculating, remembers) an inode and guards it: the commit fails if it changes or appears meanwhile.</summary>
    private async Task<InodeAttr?> LoadInodeAsync(IDatabaseAsync db, RedisCommit commit, ulong ino)
    {
        var key = InodeKey(ino);
        if (commit.Speculative && _hints.TryInode(ino, out var hinted))
        {
            commit.Guard("GET", key, RedisValue.Null, hinted);
            commit.OnConflict(h => h.SetInode(ino, null));
            return DecodeInode(ino, hinted);
        }
        var value = await db.StringGetAsync(key).ConfigureAwait(false);
        commit.Guard("GET", key, RedisValue.Null, value);
        _hints.SetInode(ino, value.IsNull ? null : (byte[])value!);
        return DecodeInode(ino, value);
    }

    private async Task<InodeAttr> RequireInodeAsync(IDatabaseAsync db, RedisCommit commit, ulong ino) =>
        await LoadInodeAsync(db, commit, ino).ConfigureAwait(false) ?? throw new FsException(Errno.ENOENT);

    private async Task<InodeAttr> RequireDirectoryAsync(IDatabaseAsync db, RedisCommit commit, ulong ino)
    {
        var attr = await RequireInodeAsync(db, commit, ino).ConfigureAwait(false);
        return attr.Type == FileType.Directory ? attr : throw new FsException(Errno.ENOTDIR);
    }

    /// <summary>Writes an inode's attributes (new or changed) and announces the change to other appliances.</summary>
    private void StoreInode(RedisCommit commit, InodeAttr attr)
    {
        var bytes = EncodeInode(attr);
        commit.Op("SET", InodeKey(attr.Ino), bytes);
        commit.Touched.Add(attr.Ino);
        commit.OnCommit(h => h.SetInode(attr.Ino, bytes));
    }

    private void AddCounter(RedisCommit commit, string name, long delta)
    {
        if (delta != 0)
            commit.Op("HINCRBY", CountersKey, name, delta);
    }

    // ---- volume ----

    public async ValueTask<VolumeFormat?> LoadFormatAsync(CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var json = await db.StringGetAsync(FormatKey).ConfigureAwait(false);
        var format = json.IsNull ? null : JsonSerializer.Deserialize((string)json!, MetaJson.Default.VolumeFormat);
        _inodeLimit = format?.InodeLimit ?? 0;
        _trashDays = format?.TrashDays ?? 0;
        return format;
    }

    public async ValueTask<Errno> FormatAsync(VolumeFormat format, CancellationToken ct)
    {
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var existing = await db.StringGetAsync(FormatKey).ConfigureAwait(false);
            c.Guard("GET", FormatKey, RedisValue.Null, existing);
            if (existing.HasValue)
                return Errno.EEXIST;
            c.Op("SET", FormatKey, JsonSerializer.Serialize(format, MetaJson.Default.VolumeFormat));
            c.Op("SET", SchemaKey, SchemaVersion);
            c.Op("HSET", CountersKey, "next_inode", 2, "next_slice", 1, "next_cookie", 1, "next_session", 0, "used_bytes", 0, "used_inodes", 1);
            var now = UnixTime.NowNanos();
            StoreInode(c, new InodeAttr
            {
                Ino = FsLimits.RootIno,
                Type = FileType.Directory,
                Mode = 0x1FF, // 0777 like JuiceFS: NFS clients squash root, so a 0755 root would leave nobody able to write
                Nlink = 2,
                Size = 4096,
                Atime = now,
                Mtime = now,
                Ctime = now,
                Parent = FsLimits.RootIno,
            });
            return true;
        }, ct).ConfigureAwait(false);
        if (result.Ok)
            _inodeLimit = format.InodeLimit;
            _trashDays = format.TrashDays;
        return result.Error;
    }

    public async ValueTask UpdateFormatAsync(VolumeFormat format, CancellationToken ct)
    {
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var json = await db.StringGetAsync(FormatKey).ConfigureAwait(false);
            c.Guard("GET", FormatKey, RedisValue.Null, json);
            if (json.IsNull)
                return Errno.ENOENT;
            var stored = JsonSerializer.Deserialize((string)json!, MetaJson.Default.VolumeFormat)!;
            var updated = stored with { TrashDays = format.TrashDays, CapacityBytes = format.CapacityBytes, InodeLimit = format.InodeLimit };
            c.Op("SET", FormatKey, JsonSerializer.Serialize(updated, MetaJson.Default.VolumeFormat));
            return true;
        }, ct).ConfigureAwait(false);
        if (!result.Ok)
            throw new VolumeException($"The volume at {Description} is not formatted.");
        _inodeLimit = format.InodeLimit;
        _trashDays = format.TrashDays;
    }

    public async ValueTask<UsageCounters> GetUsageAsync(CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var values = await db.HashGetAsync(CountersKey, ["used_bytes", "used_inodes"]).ConfigureAwait(false);
        return new UsageCounters((long?)values[0] ?? 0, (long?)values[1] ?? 0);
    }

    public async ValueTask SyncAsync(CancellationToken ct)
    {
        // Durability is the server's configuration (appendfsync); a round trip still orders this call after every
        // earlier commit of this connection.
        var db = await DbAsync(ct).ConfigureAwait(false);
        await db.PingAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_closing.IsCancellationRequested)
            await _closing.CancelAsync().ConfigureAwait(false);
        Task? flusher;
        lock (_owedFlusherSync)
            flusher = _owedFlusher;
        if (flusher is not null)
            await flusher.ConfigureAwait(false);
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            _db = null;
            if (_connection is { } connection)
            {
                _connection = null;
                await connection.GetSubscriber().UnsubscribeAllAsync().ConfigureAwait(false);
                await connection.CloseAsync().ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }
}

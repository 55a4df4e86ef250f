using System.Collections.Concurrent;
using System.Text.Json;
using Fs.Core.Vfs;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Meta.Sqlite;

/// <summary>
/// The embedded metadata engine: one SQLite database file in WAL mode, each operation atomic. Writes go through a single
/// connection under a lock, and writes that arrive while a commit is in progress share the next one (group commit, a
/// savepoint per operation); reads use a small pool of read-only connections that WAL lets run alongside.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite has no truly asynchronous I/O, so statements run synchronously on the calling thread (a write on
/// the thread of whoever holds the writer lock, for everyone queued behind it): they take
/// microseconds (ordinary commits do not fsync), and handing each to the thread pool would cost more than it saves.
/// Database failures other than errno outcomes surface as <see cref="SqliteException"/>; callers map them to EIO.
/// </remarks>
public sealed partial class SqliteMetaEngine : IMetaEngine
{
    private const int ReadConnections = 4;
    private const long IdBatch = 1000;
    private const int ScanPage = 1000;

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly SqliteMetaConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<SqliteMetaConnection> _readers = [];
    private readonly SemaphoreSlim _readSlots = new(ReadConnections, ReadConnections);
    private readonly IdRange _inodeIds = new("next_inode");
    private readonly IdRange _cookies = new("next_cookie");
    private readonly IdRange _sliceIds = new("next_slice");
    private readonly SessionLiveness _liveness;
    private long _inodeLimit;
    private bool _disposed;

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>; a database of a newer schema is refused.</summary>
    public SqliteMetaEngine(string path, ILoggerFactory? loggerFactory = null)
    {
        _path = Path.GetFullPath(path);
        _liveness = new SessionLiveness(_path);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SqliteMetaEngine>();
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        try
        {
            _writer = new SqliteMetaConnection(_path, readOnly: false);
        }
        catch (SqliteException e)
        {
            throw new VolumeException($"Cannot open the metadata database {_path}: {e.Message}", e);
        }
        try
        {
            PrepareSchema();
            var format = LoadFormat(_writer);
            _inodeLimit = format?.InodeLimit ?? 0;
            _trashDays = format?.TrashDays ?? 0;
        }
        catch (Exception e)
        {
            _writer.Dispose();
            throw e as VolumeException ?? new VolumeException($"Cannot open the metadata database {_path}: {e.Message}", e);
        }
    }

    public string Description => "sqlite://" + _path;

    private void PrepareSchema()
    {
        var version = _writer.Long("PRAGMA user_version") ?? 0;
        if (version > SqliteSchema.Version)
            throw new VolumeException(
                $"The metadata database {_path} has schema version {version}, newer than this appliance supports ({SqliteSchema.Version}). Upgrade the appliance.");
        _writer.Execute("PRAGMA journal_mode = WAL");
        _writer.Execute("PRAGMA synchronous = NORMAL");
        if (version == SqliteSchema.Version)
            return;
        _writer.BeginWrite();
        try
        {
            if (version == 0)
                _writer.Execute(SqliteSchema.Create);
            else
                for (var v = version; v < SqliteSchema.Version; v++)
                    _writer.Execute(SqliteSchema.Upgrades[v - 1]);
            _writer.Execute($"PRAGMA user_version = {SqliteSchema.Version}");
            _writer.Commit();
        }
        catch
        {
            _writer.Rollback();
            throw;
        }
    }

    // ---- transactions ----

    private Result<T> RunWrite<T>(Func<SqliteMetaConnection, Result<T>> operation, bool durable)
    {
        var w = _writer;
        // In WAL mode a FULL commit syncs the log, which carries every earlier NORMAL commit with it.
        if (durable)
            w.Execute("PRAGMA synchronous = FULL");
        try
        {
            w.BeginWrite();
            Result<T> result;
            try
            {
                result = operation(w);
                if (result.Ok)
                    w.Commit();
                else
                    w.Rollback();
            }
            catch (FsException e)
            {
                w.Rollback();
                return e.Errno;
            }
            catch
            {
                w.Rollback();
                throw;
            }
            return result;
        }
        finally
        {
            if (durable)
                w.Execute("PRAGMA synchronous = NORMAL");
        }
    }

    /// <summary>Runs a read on a pooled read-only connection; <paramref name="snapshot"/> wraps several statements in one read transaction.</summary>
    private async ValueTask<T> ReadAsync<T>(Func<SqliteMetaConnection, T> operation, CancellationToken ct, bool snapshot = false)
    {
        ct.ThrowIfCancellationRequested();
        await _readSlots.WaitAsync(ct).ConfigureAwait(false);
        SqliteMetaConnection? connection = null;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            connection = _readers.TryTake(out var pooled) ? pooled : new SqliteMetaConnection(_path, readOnly: true);
            if (!snapshot)
                return operation(connection);
            connection.BeginRead();
            try
            {
                return operation(connection);
            }
            finally
            {
                connection.Rollback();
            }
        }
        finally
        {
            if (connection is not null)
                _readers.Add(connection);
            _readSlots.Release();
        }
    }

    private static Result<T> Fail<T>(Errno errno) => new(errno);

    // ---- ids ----

    /// <summary>Makes sure at least <paramref name="count"/> ids are reserved; called under the writer lock, outside any transaction.</summary>
    private void EnsureIds(IdRange range, int count)
    {
        if (range.Available >= count)
            return;
        var batch = Math.Max(IdBatch, count);
        var end = RunWrite(c => new Result<long>(c.Long("UPDATE counters SET value = value + ?2 WHERE name = ?1 RETURNING value", range.Counter, batch)
            ?? throw new InvalidDataException($"Counter {range.Counter} is missing.")), durable: true).Value;
        range.Refill(end, batch);
    }

    // ---- rows ----

    private const string InodeColumns = "ino, type, mode, uid, gid, nlink, size, rdev, atime, mtime, ctime, parent";

    private static InodeAttr ReadAttr(SqliteDataReader r, int at) => new()
    {
        Ino = (ulong)r.GetInt64(at),
        Type = (FileType)r.GetInt64(at + 1),
        Mode = (uint)r.GetInt64(at + 2),
        Uid = (uint)r.GetInt64(at + 3),
        Gid = (uint)r.GetInt64(at + 4),
        Nlink = (uint)r.GetInt64(at + 5),
        Size = r.GetInt64(at + 6),
        Rdev = (uint)r.GetInt64(at + 7),
        Atime = r.GetInt64(at + 8),
        Mtime = r.GetInt64(at + 9),
        Ctime = r.GetInt64(at + 10),
        Parent = (ulong)r.GetInt64(at + 11),
    };

    private static InodeAttr? LoadInode(SqliteMetaConnection c, ulong ino)
    {
        using var r = c.Query("SELECT " + InodeColumns + " FROM inodes WHERE ino = ?1", (long)ino);
        return r.Read() ? ReadAttr(r, 0) : null;
    }

    private static InodeAttr RequireInode(SqliteMetaConnection c, ulong ino) =>
        LoadInode(c, ino) ?? throw new FsException(Errno.ENOENT);

    private static InodeAttr RequireDirectory(SqliteMetaConnection c, ulong ino)
    {
        var attr = RequireInode(c, ino);
        return attr.Type == FileType.Directory ? attr : throw new FsException(Errno.ENOTDIR);
    }

    private static void InsertInode(SqliteMetaConnection c, InodeAttr a) =>
        c.Execute("INSERT INTO inodes (" + InodeColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            (long)a.Ino, (long)a.Type, (long)a.Mode, (long)a.Uid, (long)a.Gid, (long)a.Nlink, a.Size, (long)a.Rdev,
            a.Atime, a.Mtime, a.Ctime, (long)a.Parent);

    private static void StoreInode(SqliteMetaConnection c, InodeAttr a) =>
        c.Execute("UPDATE inodes SET mode = ?2, uid = ?3, gid = ?4, nlink = ?5, size = ?6, atime = ?7, mtime = ?8, ctime = ?9, parent = ?10 WHERE ino = ?1",
            (long)a.Ino, (long)a.Mode, (long)a.Uid, (long)a.Gid, (long)a.Nlink, a.Size, a.Atime, a.Mtime, a.Ctime, (long)a.Parent);

    private static void AddCounter(SqliteMetaConnection c, string name, long delta)
    {
        if (delta != 0)
            c.Execute("UPDATE counters SET value = value + ?2 WHERE name = ?1", name, delta);
    }

    private static long Counter(SqliteMetaConnection c, string name) =>
        c.Long("SELECT value FROM counters WHERE name = ?1", name) ?? 0;

    // ---- volume ----

    private static VolumeFormat? LoadFormat(SqliteMetaConnection c)
    {
        var json = c.Text("SELECT json FROM format WHERE id = 1");
        return json is null ? null : JsonSerializer.Deserialize(json, MetaJson.Default.VolumeFormat);
    }

    public async ValueTask<VolumeFormat?> LoadFormatAsync(CancellationToken ct)
    {
        var format = await ReadAsync(LoadFormat, ct).ConfigureAwait(false);
        _inodeLimit = format?.InodeLimit ?? 0;
        _trashDays = format?.TrashDays ?? 0;
        return format;
    }

    public async ValueTask<Errno> FormatAsync(VolumeFormat format, CancellationToken ct)
    {
        var result = await WriteAsync(c =>
        {
            if (LoadFormat(c) is not null)
                return Fail<bool>(Errno.EEXIST);
            c.Execute("INSERT INTO format (id, json) VALUES (1, ?1)", JsonSerializer.Serialize(format, MetaJson.Default.VolumeFormat));
            var now = UnixTime.NowNanos();
            InsertInode(c, new InodeAttr
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
            AddCounter(c, "used_inodes", 1);
            return true;
        }, ct, durable: true).ConfigureAwait(false);
        if (result.Ok)
        {
            _inodeLimit = format.InodeLimit;
            _trashDays = format.TrashDays;
        }
        return result.Error;
    }

    public async ValueTask UpdateFormatAsync(VolumeFormat format, CancellationToken ct)
    {
        var result = await WriteAsync(c =>
        {
            var stored = LoadFormat(c);
            if (stored is null)
                return Fail<bool>(Errno.ENOENT);
            var updated = stored with { TrashDays = format.TrashDays, CapacityBytes = format.CapacityBytes, InodeLimit = format.InodeLimit };
            c.Execute("UPDATE format SET json = ?1 WHERE id = 1", JsonSerializer.Serialize(updated, MetaJson.Default.VolumeFormat));
            return true;
        }, ct, durable: true).ConfigureAwait(false);
        if (!result.Ok)
            throw new VolumeException($"The volume at {Description} is not formatted.");
        _inodeLimit = format.InodeLimit;
        _trashDays = format.TrashDays;
    }

    public async ValueTask DestroyAsync(CancellationToken ct)
    {
        await WriteAsync<bool>(c =>
        {
            var tables = new List<string>();
            using (var r = c.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
                while (r.Read())
                    tables.Add(r.GetString(0));
            foreach (var table in tables)
                c.Execute($"DELETE FROM \"{table}\"");
            // The counters start again as a fresh database has them; the create statement's insert is the one source of them.
            c.Execute(SqliteSchema.InitialCounters);
            return true;
        }, ct, durable: true).ConfigureAwait(false);
        _inodeIds.Refill(0, 0);
        _sliceIds.Refill(0, 0);
        _cookies.Refill(0, 0);
        _inodeLimit = 0;
        _trashDays = 0;
    }

    public ValueTask<UsageCounters> GetUsageAsync(CancellationToken ct) =>
        ReadAsync(c => new UsageCounters(Counter(c, "used_bytes"), Counter(c, "used_inodes")), ct, snapshot: true);

    public async ValueTask SyncAsync(CancellationToken ct)
    {
        // A commit that changes a row is needed: a FULL commit of an empty transaction writes nothing and syncs nothing.
        await WriteAsync<bool>(c =>
        {
            AddCounter(c, "sync_epoch", 1);
            return true;
        }, ct, durable: true).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            for (var i = 0; i < ReadConnections; i++)
                await _readSlots.WaitAsync().ConfigureAwait(false);
            while (_readers.TryTake(out var reader))
                reader.Dispose();
            _writer.Dispose();
            _liveness.Dispose();
            // Let late readers through to find the engine disposed instead of waiting forever.
            _readSlots.Release(ReadConnections);
        }
        finally
        {
            ReleaseWriteLock();
        }
    }
}

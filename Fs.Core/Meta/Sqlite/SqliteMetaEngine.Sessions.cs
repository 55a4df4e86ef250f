using Fs.Core.Chunks;
using System.Text.Json;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Meta.Sqlite;

// Sessions, open files and the deferred deletion of files unlinked while open.
public sealed partial class SqliteMetaEngine
{
    public async ValueTask<long> RegisterSessionAsync(string host, int pid, string version, string doors, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var result = await WriteAsync(c => new Result<long>(c.Long(
            "INSERT INTO sessions (host, pid, version, doors, started, heartbeat) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
            host, (long)pid, version, doors, now)!.Value), ct, durable: true).ConfigureAwait(false);
        _liveness.Hold(result.Value);
        return result.Value;
    }

    public async ValueTask HeartbeatAsync(long session, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await WriteAsync(c => new Result<int>(c.Execute("UPDATE sessions SET heartbeat = ?2 WHERE id = ?1", session, now)), ct)
            .ConfigureAwait(false);
    }

    public async ValueTask SetSessionDoorsAsync(long session, string doors, CancellationToken ct)
    {
        await WriteAsync(c => new Result<int>(c.Execute("UPDATE sessions SET doors = ?2 WHERE id = ?1", session, doors)), ct)
            .ConfigureAwait(false);
    }

    public async ValueTask CloseSessionAsync(long session, CancellationToken ct)
    {
        await WriteAsync(c => new Result<int>(CloseSession(c, session)), ct, durable: true).ConfigureAwait(false);
        _liveness.Release(session);
    }

    public ValueTask<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken ct) => ReadAsync(c =>
    {
        var sessions = new List<SessionInfo>();
        using var r = c.Query("SELECT id, host, pid, version, doors, started, heartbeat FROM sessions ORDER BY id");
        while (r.Read())
            sessions.Add(new SessionInfo(r.GetInt64(0), r.GetString(1), (int)r.GetInt64(2), r.GetString(3), r.GetString(4),
                DateTime.UnixEpoch.AddMilliseconds(r.GetInt64(5)), DateTime.UnixEpoch.AddMilliseconds(r.GetInt64(6))));
        return (IReadOnlyList<SessionInfo>)sessions;
    }, ct);

    /// <summary>
    /// Closes sessions that stopped beating for <paramref name="timeout"/>, and at once those whose process is known to
    /// be gone (their liveness lock is free): a crashed appliance restarted on the same volume gets its old locks back.
    /// </summary>
    public async ValueTask<IReadOnlyList<long>> CleanStaleSessionsAsync(TimeSpan timeout, CancellationToken ct)
    {
        var cutoff = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)timeout.TotalMilliseconds;
        var sessions = await ReadAsync(c =>
        {
            var rows = new List<(long Id, long Heartbeat)>();
            using var r = c.Query("SELECT id, heartbeat FROM sessions ORDER BY id");
            while (r.Read())
                rows.Add((r.GetInt64(0), r.GetInt64(1)));
            return rows;
        }, ct).ConfigureAwait(false);
        var closed = new List<long>();
        foreach (var (id, heartbeat) in sessions)
        {
            var silent = heartbeat < cutoff;
            var dead = !silent && _liveness.IsDead(id);
            if (!silent && !dead)
                continue;
            // Re-check inside the transaction: a silent session may have sent a heartbeat since the scan.
            var result = await WriteAsync(c => c.Long("SELECT 1 FROM sessions WHERE id = ?1 AND (heartbeat < ?2 OR ?3)", id, cutoff, dead) is null
                ? new Result<int>(0)
                : new Result<int>(CloseSession(c, id) + 1), ct, durable: true).ConfigureAwait(false);
            if (result.Value > 0)
            {
                // A silent session's file goes too once its process is gone (IsDead removes a file it could lock).
                if (silent)
                    _liveness.IsDead(id);
                if (dead)
                    _logger.LogWarning("Closed session {Session}: its process is gone", id);
                else
                    _logger.LogWarning("Closed stale session {Session} (no heartbeat for {Timeout})", id, timeout);
                closed.Add(id);
            }
        }
        return closed;
    }

    /// <summary>Removes a session with its locks and open-file records, deleting the files only it kept alive; returns files deleted.</summary>
    private static int CloseSession(SqliteMetaConnection c, long session)
    {
        var lockRows = new List<(long Ino, string Json)>();
        using (var r = c.Query("SELECT ino, json FROM locks"))
            while (r.Read())
                lockRows.Add((r.GetInt64(0), r.GetString(1)));
        foreach (var (ino, json) in lockRows)
        {
            var locks = JsonSerializer.Deserialize(json, MetaJson.Default.ListLockRecord) ?? [];
            var kept = locks.FindAll(l => l.Owner.Session != session);
            if (kept.Count != locks.Count)
                StoreLocks(c, (ulong)ino, kept);
        }

        var open = new List<long>();
        using (var r = c.Query("SELECT ino FROM open_files WHERE session = ?1", session))
            while (r.Read())
                open.Add(r.GetInt64(0));
        c.Execute("DELETE FROM open_files WHERE session = ?1", session);
        var deleted = 0;
        foreach (var ino in open)
            if (DeleteIfUnreferenced(c, (ulong)ino))
                deleted++;
        c.Execute("DELETE FROM leases WHERE session = ?1", session);
        c.Execute("DELETE FROM sessions WHERE id = ?1", session);
        return deleted;
    }

    public async ValueTask<Result<InodeAttr>> OpenAsync(Caller caller, long session, ulong ino, OpenFlags flags, CancellationToken ct)
    {
        return await WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            if (attr.Type == FileType.Symlink)
                return Fail<InodeAttr>(Errno.ELOOP);
            var access = PermissionRules.OpenAccess(flags);
            if (attr.Type == FileType.Directory && (access & AccessMode.Write) != 0)
                return Fail<InodeAttr>(Errno.EISDIR);
            var err = PermissionRules.Check(caller, attr, access);
            if (err != Errno.OK)
                return Fail<InodeAttr>(err);
            RecordOpen(c, session, ino);
            return attr;
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask<Result<InodeAttr>> CreateAsync(Caller caller, long session, ulong parent, string name, uint mode, CancellationToken ct)
    {
        var err = NameRules.CheckMknod(name, FileType.Regular, null);
        if (err != Errno.OK)
            return err;
        return await WriteAsync(c =>
        {
            var created = Mknod(c, caller, parent, name, FileType.Regular, mode, 0, null);
            if (created.Ok)
                RecordOpen(c, session, created.Value.Ino);
            return created;
        }, ct, inodes: 1, cookies: 1).ConfigureAwait(false);
    }

    private static void RecordOpen(SqliteMetaConnection c, long session, ulong ino) =>
        c.Execute("INSERT INTO open_files (session, ino, count) VALUES (?1, ?2, 1) ON CONFLICT (session, ino) DO UPDATE SET count = count + 1",
            session, (long)ino);

    public async ValueTask<bool> CloseAsync(long session, ulong ino, CancellationToken ct)
    {
        var deleted = await WriteAsync(c =>
        {
            var left = c.Long("UPDATE open_files SET count = count - 1 WHERE session = ?1 AND ino = ?2 RETURNING count", session, (long)ino);
            if (left is null)
                return new Result<bool>(false);
            if (left <= 0)
                c.Execute("DELETE FROM open_files WHERE session = ?1 AND ino = ?2", session, (long)ino);
            return DeleteIfUnreferenced(c, ino);
        }, ct).ConfigureAwait(false);
        return deleted.Ok && deleted.Value;
    }

    private static bool IsOpen(SqliteMetaConnection c, ulong ino) =>
        c.Long("SELECT 1 FROM open_files WHERE ino = ?1 LIMIT 1", (long)ino) is not null;

    /// <summary>Deletes an inode that has no names left once no session has it open; true when it went.</summary>
    private static bool DeleteIfUnreferenced(SqliteMetaConnection c, ulong ino)
    {
        if (c.Long("SELECT 1 FROM deleted_files WHERE ino = ?1", (long)ino) is null || IsOpen(c, ino))
            return false;
        var attr = LoadInode(c, ino);
        if (attr is null || attr.Nlink > 0)
        {
            c.Execute("DELETE FROM deleted_files WHERE ino = ?1", (long)ino);
            return false;
        }
        DeleteInode(c, attr);
        return true;
    }

    /// <summary>
    /// An inode lost a name (its entry is already gone). With names left it only gets the new count; without, it is deleted
    /// now, or parked in deleted_files while some session has it open.
    /// </summary>
    private static RemovedInode DropName(SqliteMetaConnection c, InodeAttr victim, long now)
    {
        var left = victim.Type == FileType.Directory || victim.Nlink == 0 ? 0u : victim.Nlink - 1;
        var attr = victim with { Nlink = left, Ctime = now };
        if (left > 0)
        {
            StoreInode(c, attr);
            return new RemovedInode(attr, false);
        }
        if (IsOpen(c, attr.Ino))
        {
            StoreInode(c, attr);
            c.Execute("INSERT OR REPLACE INTO deleted_files (ino, deleted) VALUES (?1, ?2)", (long)attr.Ino, now);
            return new RemovedInode(attr, false);
        }
        DeleteInode(c, attr);
        return new RemovedInode(attr, true);
    }

    /// <summary>Removes an inode and everything hanging off it; its slices lose a reference each.</summary>
    private static void DeleteInode(SqliteMetaConnection c, InodeAttr attr)
    {
        var ino = (long)attr.Ino;
        if (attr.Type == FileType.Regular)
        {
            DropChunks(c, attr.Ino, 0);
            AddCounter(c, "used_bytes", -ChunkLayout.Usage(attr.Size));
        }
        c.Execute("DELETE FROM xattrs WHERE ino = ?1", ino);
        c.Execute("DELETE FROM symlinks WHERE ino = ?1", ino);
        c.Execute("DELETE FROM locks WHERE ino = ?1", ino);
        c.Execute("DELETE FROM deleted_files WHERE ino = ?1", ino);
        c.Execute("DELETE FROM inodes WHERE ino = ?1", ino);
        AddCounter(c, "used_inodes", -1);
    }

    private static void StoreLocks(SqliteMetaConnection c, ulong ino, List<LockRecord> locks)
    {
        if (locks.Count == 0)
            c.Execute("DELETE FROM locks WHERE ino = ?1", (long)ino);
        else
            c.Execute("INSERT INTO locks (ino, json) VALUES (?1, ?2) ON CONFLICT (ino) DO UPDATE SET json = excluded.json",
                (long)ino, JsonSerializer.Serialize(locks, MetaJson.Default.ListLockRecord));
    }
}

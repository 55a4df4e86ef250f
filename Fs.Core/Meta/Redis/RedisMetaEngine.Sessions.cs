using System.Globalization;
using System.Threading.Channels;
using Fs.Core.Chunks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Sessions (a sorted set id -> last heartbeat, and a hash per session), open files (a hash per inode session -> count, and
// a set per session of the inodes it has open) and the deferred deletion of files unlinked while open.
public sealed partial class RedisMetaEngine
{
    /// <summary>How long an owed close waits for others to share its commit: the longest another appliance's unlink of the file waits to delete it.</summary>
    private static readonly TimeSpan OwedCloseDelay = TimeSpan.FromMilliseconds(100);

    private const int OwedCloseBatch = 1000;

    private readonly OwedCloses _owed = new();
    private readonly Channel<bool> _owedSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    /// <summary>Cancelled when the engine is being disposed: closes are then sent at once.</summary>
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _owedFlusherSync = new();
    private Task? _owedFlusher;

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public async ValueTask<long> RegisterSessionAsync(string host, int pid, string version, string doors, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var id = await db.HashIncrementAsync(CountersKey, "next_session").ConfigureAwait(false);
        var now = NowMs();
        var result = await MutateAsync<long>((_, c) =>
        {
            c.Op("HSET", SessionKey(id), "host", host, "pid", pid, "version", version, "doors", doors, "started", now);
            c.Op("ZADD", SessionsKey, now, id);
            return Task.FromResult(new Result<long>(id));
        }, ct).ConfigureAwait(false);
        return result.Value;
    }

    public async ValueTask HeartbeatAsync(long session, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        // Only a registered session beats: one already cleaned as stale stays gone, as in the SQLite engine.
        await db.SortedSetAddAsync(SessionsKey, session, NowMs(), SortedSetWhen.Exists).ConfigureAwait(false);
    }

    public async ValueTask SetSessionDoorsAsync(long session, string doors, CancellationToken ct)
    {
        await MutateAsync<bool>(async (db, c) =>
        {
            // Writing the hash of a session another appliance has already closed as stale would leave it behind for good.
            var beat = await db.SortedSetScoreAsync(SessionsKey, session).ConfigureAwait(false);
            c.Guard("ZSCORE", SessionsKey, session, beat.HasValue ? (RedisValue)beat.Value : RedisValue.Null);
            if (beat is null)
                return false;
            c.Op("HSET", SessionKey(session), "doors", doors);
            return true;
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask CloseSessionAsync(long session, CancellationToken ct)
    {
        await MutateAsync((db, c) => CloseSessionAsync(db, c, session), ct).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var beats = await db.SortedSetRangeByRankWithScoresAsync(SessionsKey).ConfigureAwait(false);
        var details = await Task.WhenAll(beats.Select(b => db.HashGetAllAsync(SessionKey((long)b.Element)))).ConfigureAwait(false);
        var sessions = new List<SessionInfo>(beats.Length);
        for (var i = 0; i < beats.Length; i++)
        {
            var fields = details[i].ToDictionary(e => (string)e.Name!, e => e.Value);
            string Text(string name) => fields.TryGetValue(name, out var v) ? (string?)v ?? "" : "";
            long Number(string name) => fields.TryGetValue(name, out var v) && v.TryParse(out long n) ? n : 0;
            sessions.Add(new SessionInfo((long)beats[i].Element, Text("host"), (int)Number("pid"), Text("version"), Text("doors"),
                DateTime.UnixEpoch.AddMilliseconds(Number("started")), DateTime.UnixEpoch.AddMilliseconds(beats[i].Score)));
        }
        sessions.Sort((a, b) => a.Id.CompareTo(b.Id));
        return sessions;
    }

    public async ValueTask<IReadOnlyList<long>> CleanStaleSessionsAsync(TimeSpan timeout, CancellationToken ct)
    {
        var cutoff = NowMs() - (long)timeout.TotalMilliseconds;
        var db = await DbAsync(ct).ConfigureAwait(false);
        var stale = await db.SortedSetRangeByScoreAsync(SessionsKey, double.NegativeInfinity, cutoff, Exclude.Stop).ConfigureAwait(false);
        var closed = new List<long>();
        foreach (var member in stale.Select(m => (long)m).Order())
        {
            // Re-checked in the commit: the session may have sent a heartbeat since the scan, or another appliance closed it.
            var result = await MutateAsync<int>(async (db, c) =>
            {
                var beat = await db.SortedSetScoreAsync(SessionsKey, member).ConfigureAwait(false);
                c.Guard("ZSCORE", SessionsKey, member, beat.HasValue ? (RedisValue)beat.Value : RedisValue.Null);
                if (beat is null || beat.Value >= cutoff)
                    return 0;
                var deleted = await CloseSessionAsync(db, c, member).ConfigureAwait(false);
                return deleted.Value + 1;
            }, ct).ConfigureAwait(false);
            if (result.Value > 0)
            {
                _logger.LogWarning("Closed stale session {Session} (no heartbeat for {Timeout})", member, timeout);
                closed.Add(member);
            }
        }
        return closed;
    }

    /// <summary>Removes a session with its locks and open-file records, deleting the files only it kept alive; returns files deleted.</summary>
    private async Task<Result<int>> CloseSessionAsync(IDatabaseAsync db, RedisCommit c, long session)
    {
        var lockedRead = db.SetMembersAsync(LockedKey);
        var openRead = db.SetMembersAsync(SessionOpenKey(session));
        var locked = await lockedRead.ConfigureAwait(false);
        var open = await openRead.ConfigureAwait(false);

        var lockLists = await Task.WhenAll(locked.Select(m => LoadLocksAsync(db, c, (ulong)m))).ConfigureAwait(false);
        for (var i = 0; i < locked.Length; i++)
        {
            var locks = lockLists[i];
            var kept = locks.FindAll(l => l.Owner.Session != session);
            if (kept.Count != locks.Count)
                StoreLocks(c, (ulong)locked[i], kept);
        }

        var deleted = 0;
        foreach (var ino in open.Select(m => (ulong)m))
        {
            c.Op("HDEL", OpenKey(ino), session);
            if (await DeleteIfUnreferencedAsync(db, c, ino, leaving: 1).ConfigureAwait(false))
                deleted++;
        }
        c.Op("DEL", SessionOpenKey(session));
        c.Op("DEL", SessionKey(session));
        c.Op("ZREM", SessionsKey, session);
        c.OnCommit(h =>
        {
            h.ForgetSession(session);
            _owed.Forget(session);
        });
        return deleted;
    }

    public async ValueTask<Result<InodeAttr>> OpenAsync(Caller caller, long session, ulong ino, OpenFlags flags, CancellationToken ct)
    {
        return await MutateAsync<InodeAttr>(async (db, c) =>
        {
            var attr = await RequireInodeAsync(db, c, ino).ConfigureAwait(false);
            if (attr.Type == FileType.Symlink)
                return Errno.ELOOP;
            var access = PermissionRules.OpenAccess(flags);
            if (attr.Type == FileType.Directory && (access & AccessMode.Write) != 0)
                return Errno.EISDIR;
            var err = PermissionRules.Check(caller, attr, access);
            if (err != Errno.OK)
                return err;
            RecordOpen(c, session, ino);
            return attr;
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask<Result<InodeAttr>> CreateAsync(Caller caller, long session, ulong parent, string name, uint mode, CancellationToken ct)
    {
        var err = NameRules.CheckMknod(name, FileType.Regular, null);
        if (err != Errno.OK)
            return err;
        return await MutateAsync(async (db, c) =>
        {
            var created = await MknodAsync(db, c, caller, parent, name, FileType.Regular, mode, 0, null).ConfigureAwait(false);
            if (created.Ok)
                RecordOpen(c, session, created.Value.Ino);
            return created;
        }, ct).ConfigureAwait(false);
    }

    private void RecordOpen(RedisCommit c, long session, ulong ino)
    {
        c.Op("HINCRBY", OpenKey(ino), session, 1);
        c.Op("SADD", SessionOpenKey(session), ino);
        c.OnCommit(h => h.SetOpens(session, ino, h.Opens(session, ino) + 1));
    }

    /// <summary>
    /// Closing a file that keeps a name cannot delete it, so that close is owed (<see cref="OwedCloses"/>) and sent with
    /// others a moment later; a close that may delete the file (it has no name left, as far as this appliance knows) goes at
    /// once, and takes this session's owed closes of the file with it.
    /// </summary>
    public async ValueTask<bool> CloseAsync(long session, ulong ino, CancellationToken ct)
    {
        if (!_closing.IsCancellationRequested && _hints.TryInode(ino, out var bytes) && DecodeInode(ino, bytes).Nlink > 0
            && _hints.Opens(session, ino) > _owed.Of(session, ino))
        {
            OweClose(session, ino);
            return false;
        }
        var deleted = await MutateAsync<bool>(async (db, c) => await ApplyClosesAsync(db, c, session, ino, 1).ConfigureAwait(false), ct).ConfigureAwait(false);
        return deleted.Value;
    }

    private void OweClose(long session, ulong ino)
    {
        _owed.Add(session, ino);
        lock (_owedFlusherSync)
            _owedFlusher ??= FlushOwedClosesLoopAsync();
        _owedSignal.Writer.TryWrite(true);
    }

    /// <summary>
    /// Sends owed closes <see cref="OwedCloseDelay"/> after the first one is owed, so that a burst of closes shares one
    /// commit; when the engine is disposed, sends what is left at once.
    /// </summary>
    private async Task FlushOwedClosesLoopAsync()
    {
        await Task.Yield();
        while (!_closing.IsCancellationRequested)
        {
            try
            {
                await _owedSignal.Reader.ReadAsync(_closing.Token).ConfigureAwait(false);
                await Task.Delay(OwedCloseDelay, _closing.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            await FlushOwedClosesAsync().ConfigureAwait(false);
        }
    }

    private async Task FlushOwedClosesAsync()
    {
        while (_owed.Take(OwedCloseBatch) is { Count: > 0 } batch)
        {
            try
            {
                await MutateAsync<bool>(async (db, c) =>
                {
                    await Task.WhenAll(batch.Select(o => ApplyClosesAsync(db, c, o.Session, o.Ino, o.Closes))).ConfigureAwait(false);
                    return true;
                }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Not sent again: the commit may have gone through. The records then stay until the session ends, which
                // keeps those files (should another appliance unlink them) until then: late, never early.
                _logger.LogWarning(e, "Sending {Count} closes of files to {Redis} failed; they stay recorded as open until the session ends",
                    batch.Count, Description);
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="closes"/> (which the caller owns) off the session's open record of the inode; when that and the
    /// session's owed closes leave nothing, removes the record and deletes the inode if it has no names. True when it went.
    /// </summary>
    private async Task<bool> ApplyClosesAsync(IDatabaseAsync db, RedisCommit c, long session, ulong ino, long closes)
    {
        var key = OpenKey(ino);
        var count = await OpenCountAsync(db, c, session, ino).ConfigureAwait(false);
        if (count.IsNull)
            return false;
        var left = (long)count - closes;
        if (left > _owed.Of(session, ino))
        {
            c.Op("HINCRBY", key, session, -closes);
            c.OnCommit(h => h.SetOpens(session, ino, left));
            return false;
        }
        ForgetOpens(c, session, ino);
        return await DeleteIfUnreferencedAsync(db, c, ino, leaving: 1).ConfigureAwait(false);
    }

    /// <summary>The session's open count of the inode (nil when none), guarded.</summary>
    private async Task<RedisValue> OpenCountAsync(IDatabaseAsync db, RedisCommit c, long session, ulong ino)
    {
        var key = OpenKey(ino);
        // This session's own count is known from its own opens and closes; another appliance can only have removed it
        // (closing this session as stale), which the guard catches.
        RedisValue count = _hints.Opens(session, ino);
        if (c.Speculative && (long)count > 0)
            c.OnConflict(h => h.SetOpens(session, ino, 0));
        else
            count = await db.HashGetAsync(key, session).ConfigureAwait(false);
        c.Guard("HGET", key, session, count);
        return count;
    }

    /// <summary>Removes the session's open record of the inode, settling the closes it owes on it.</summary>
    private void ForgetOpens(RedisCommit c, long session, ulong ino)
    {
        var owed = _owed.Of(session, ino);
        c.Op("HDEL", OpenKey(ino), session);
        c.Op("SREM", SessionOpenKey(session), ino);
        c.OnCommit(h =>
        {
            h.SetOpens(session, ino, 0);
            _owed.Settle(session, ino, owed);
        });
    }

    /// <summary>How many sessions have the inode open, guarded; a speculative attempt takes it to be <paramref name="assumed"/>.</summary>
    private async Task<long> OpenerCountAsync(IDatabaseAsync db, RedisCommit c, ulong ino, long assumed = 0)
    {
        var key = OpenKey(ino);
        var count = c.Speculative ? assumed : await db.HashLengthAsync(key).ConfigureAwait(false);
        c.Guard("HLEN", key, RedisValue.Null, count.ToString(CultureInfo.InvariantCulture));
        return count;
    }

    /// <summary>
    /// How many sessions have the inode open once this commit removes the records of this appliance's sessions whose every
    /// open is an owed close: a file released here and then unlinked here goes at once.
    /// </summary>
    private async Task<long> OpenersLeftAsync(IDatabaseAsync db, RedisCommit c, ulong ino)
    {
        long settled = 0;
        foreach (var (session, owed) in _owed.Of(ino))
        {
            var count = await OpenCountAsync(db, c, session, ino).ConfigureAwait(false);
            if (count.IsNull || (long)count > owed)
                continue;
            ForgetOpens(c, session, ino);
            settled++;
        }
        return await OpenerCountAsync(db, c, ino, assumed: settled).ConfigureAwait(false) - settled;
    }

    /// <summary>
    /// Deletes an inode that has no names left once no session has it open, this commit taking away
    /// <paramref name="leaving"/> of its openers; true when it went. A speculative attempt takes the inode to be named.
    /// </summary>
    private async Task<bool> DeleteIfUnreferencedAsync(IDatabaseAsync db, RedisCommit c, ulong ino, int leaving)
    {
        var pending = !c.Speculative && await db.HashExistsAsync(DeletedKey, ino).ConfigureAwait(false);
        c.Guard("HEXISTS", DeletedKey, ino, pending ? "1" : "0");
        if (!pending)
            return false;
        var openersRead = OpenerCountAsync(db, c, ino);
        var attrRead = LoadInodeAsync(db, c, ino);
        var openers = await openersRead.ConfigureAwait(false);
        var attr = await attrRead.ConfigureAwait(false);
        if (openers - leaving > 0)
            return false;
        if (attr is null || attr.Nlink > 0)
        {
            c.Op("HDEL", DeletedKey, ino);
            return false;
        }
        DeleteInode(c, attr);
        return true;
    }

    /// <summary>
    /// An inode lost a name (its entry is already gone). With names left it only gets the new count; without, it is deleted
    /// now, or parked in the deleted set while some session has it open.
    /// </summary>
    private async Task<RemovedInode> DropNameAsync(IDatabaseAsync db, RedisCommit c, InodeAttr victim, long now)
    {
        var left = victim.Type == FileType.Directory || victim.Nlink == 0 ? 0u : victim.Nlink - 1;
        var attr = victim with { Nlink = left, Ctime = now };
        if (left > 0)
        {
            StoreInode(c, attr);
            return new RemovedInode(attr, false);
        }
        if (await OpenersLeftAsync(db, c, attr.Ino).ConfigureAwait(false) > 0)
        {
            StoreInode(c, attr);
            c.Op("HSET", DeletedKey, attr.Ino, now);
            return new RemovedInode(attr, false);
        }
        DeleteInode(c, attr);
        return new RemovedInode(attr, true);
    }

    /// <summary>Removes an inode and everything hanging off it; its slices lose a reference each (inside the commit script).</summary>
    private void DeleteInode(RedisCommit c, InodeAttr attr)
    {
        var ino = attr.Ino;
        if (attr.Type == FileType.Regular)
        {
            DropChunks(c, ino, 0);
            AddCounter(c, "used_bytes", -ChunkLayout.Usage(attr.Size));
        }
        if (attr.Type == FileType.Directory)
        {
            c.Op("DEL", EntriesKey(ino));
            c.Op("DEL", CookiesKey(ino));
        }
        c.Op("DEL", XattrKey(ino));
        c.Op("DEL", SymlinkKey(ino));
        c.Op("DEL", LocksKey(ino));
        c.Op("DEL", OpenKey(ino));
        c.Op("SREM", LockedKey, ino);
        c.Op("HDEL", DeletedKey, ino);
        c.Op("DEL", InodeKey(ino));
        c.Touched.Add(ino);
        c.OnCommit(h => h.SetInode(ino, null));
        AddCounter(c, "used_inodes", -1);
    }
}

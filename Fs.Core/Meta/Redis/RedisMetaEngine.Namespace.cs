using System.Globalization;
using System.Text;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Lookup, attributes, creation, removal, links and directory listing. A directory's entries are a hash name -> "ino type"
// and, for listing in cookie order, a sorted set name -> cookie; both change together in every commit.
public sealed partial class RedisMetaEngine
{
    private readonly record struct Entry(ulong Ino, FileType Type);

    private static string EncodeEntry(ulong ino, FileType type) =>
        Decimal(ino) + " " + ((int)type).ToString(CultureInfo.InvariantCulture);

    private static Entry DecodeEntry(RedisValue value)
    {
        var text = (string)value!;
        var space = text.IndexOf(' ');
        if (space <= 0
            || !ulong.TryParse(text.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var ino)
            || !byte.TryParse(text.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var type))
            throw new InvalidDataException($"Directory entry '{text}' is malformed.");
        return new Entry(ino, (FileType)type);
    }

    /// <summary>
    /// Reads (or, speculating, remembers) an entry and guards it. With <paramref name="assumeAbsent"/> a speculative attempt
    /// that remembers nothing takes the name to be free, as it is when creating.
    /// </summary>
    private async Task<Entry?> LoadEntryAsync(IDatabaseAsync db, RedisCommit commit, ulong parent, string name, bool assumeAbsent = false)
    {
        var key = EntriesKey(parent);
        if (commit.Speculative)
        {
            if (_hints.TryEntry(parent, name, out var hinted))
            {
                commit.Guard("HGET", key, name, hinted);
                commit.OnConflict(h => h.SetEntry(parent, name, null));
                return DecodeEntry(hinted);
            }
            if (assumeAbsent)
            {
                commit.Guard("HGET", key, name, RedisValue.Null);
                return null;
            }
        }
        var value = await db.HashGetAsync(key, name).ConfigureAwait(false);
        commit.Guard("HGET", key, name, value);
        _hints.SetEntry(parent, name, (string?)value);
        return value.IsNull ? null : DecodeEntry(value);
    }

    private void InsertEntry(RedisCommit commit, ulong parent, string name, ulong ino, FileType type, ulong cookie)
    {
        var entry = EncodeEntry(ino, type);
        commit.Op("HSET", EntriesKey(parent), name, entry);
        commit.Op("ZADD", CookiesKey(parent), cookie, name);
        commit.Touched.Add(parent);
        commit.EntriesTouched.Add((parent, name));
        commit.OnCommit(h => h.SetEntry(parent, name, entry));
    }

    private void DeleteEntry(RedisCommit commit, ulong parent, string name)
    {
        commit.Op("HDEL", EntriesKey(parent), name);
        commit.Op("ZREM", CookiesKey(parent), name);
        commit.Touched.Add(parent);
        commit.EntriesTouched.Add((parent, name));
        commit.OnCommit(h => h.SetEntry(parent, name, null));
    }

    private async Task<bool> HasEntriesAsync(IDatabaseAsync db, RedisCommit commit, ulong dir)
    {
        var key = EntriesKey(dir);
        var exists = await db.KeyExistsAsync(key).ConfigureAwait(false);
        commit.Guard("EXISTS", key, RedisValue.Null, exists ? "1" : "0");
        return exists;
    }

    /// <summary>An inode that an entry points to but that is gone: the metadata is damaged (CheckAsync repairs it).</summary>
    private async Task<InodeAttr> RequireTargetAsync(IDatabaseAsync db, RedisCommit commit, Entry entry) =>
        await LoadInodeAsync(db, commit, entry.Ino).ConfigureAwait(false)
        ?? throw new FsException(Errno.EIO, $"Entry points to missing inode {entry.Ino}.");

    private void Touch(RedisCommit commit, InodeAttr dir, long now, int nlinkDelta = 0) =>
        StoreInode(commit, dir with { Mtime = now, Ctime = now, Nlink = (uint)(dir.Nlink + nlinkDelta) });

    /// <summary>Directory inode, entry and target inode in one round trip and one consistent view.</summary>
    private const string LookupScript = """
        local dir = redis.call('GET', KEYS[1])
        if not dir then return {} end
        local e = redis.call('HGET', KEYS[2], ARGV[1])
        if not e then return {dir} end
        local child = redis.call('GET', ARGV[2] .. string.match(e, '^(%d+)'))
        if not child then return {dir, e} end
        return {dir, e, child}
        """;

    public async ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(name);
        if (err != Errno.OK)
            return err;
        var db = await DbAsync(ct).ConfigureAwait(false);
        if (NameRules.IsDot(name))
        {
            var dir = DecodeInode(parent, await db.StringGetAsync(InodeKey(parent)).ConfigureAwait(false));
            if (dir is null)
                return Errno.ENOENT;
            if (dir.Type != FileType.Directory)
                return Errno.ENOTDIR;
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Errno.EACCES;
            if (name == "." || dir.Ino == FsLimits.RootIno)
                return dir;
            return DecodeInode(dir.Parent, await db.StringGetAsync(InodeKey(dir.Parent)).ConfigureAwait(false)) is { } up ? up : Errno.ENOENT;
        }
        var found = (RedisResult[])(await db.ScriptEvaluateAsync(LookupScript, [InodeKey(parent), EntriesKey(parent)],
            [name, _p + "i:"]).ConfigureAwait(false))!;
        if (found.Length == 0)
            return Errno.ENOENT;
        var attr = DecodeInode(parent, ((ReadOnlyMemory<byte>)(RedisValue)found[0]).Span);
        if (attr.Type != FileType.Directory)
            return Errno.ENOTDIR;
        if (!PermissionRules.Allows(caller, attr, AccessMode.Execute))
            return Errno.EACCES;
        if (found.Length < 3)
            return Errno.ENOENT;
        var entry = DecodeEntry((RedisValue)found[1]);
        return DecodeInode(entry.Ino, ((ReadOnlyMemory<byte>)(RedisValue)found[2]).Span);
    }

    public async ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        return DecodeInode(ino, await db.StringGetAsync(InodeKey(ino)).ConfigureAwait(false)) is { } attr ? attr : Errno.ENOENT;
    }

    public async ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct)
    {
        var attr = await GetAttrAsync(ino, ct).ConfigureAwait(false);
        return attr.Ok ? PermissionRules.Check(caller, attr.Value, mode) : attr.Error;
    }

    public ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct) =>
        MutateAsync<InodeAttr>(async (db, c) =>
        {
            var attr = await RequireInodeAsync(db, c, ino).ConfigureAwait(false);
            var now = UnixTime.NowNanos();
            var applied = PermissionRules.ApplySetAttr(caller, attr, request, now);
            if (!applied.Ok)
                return applied;
            var updated = applied.Value;
            if ((request.Mask & SetAttrMask.Size) != 0 && request.Size != attr.Size)
            {
                await TruncateAsync(db, c, attr, request.Size).ConfigureAwait(false);
                var mtime = (request.Mask & (SetAttrMask.Mtime | SetAttrMask.MtimeNow)) != 0 ? updated.Mtime : now;
                updated = updated with { Size = request.Size, Mtime = mtime, Ctime = now };
            }
            StoreInode(c, updated);
            return updated;
        }, ct);

    public async ValueTask<Result<InodeAttr>> MknodAsync(
        Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev, string? symlinkTarget, CancellationToken ct)
    {
        var err = NameRules.CheckMknod(name, type, symlinkTarget);
        if (err != Errno.OK)
            return err;
        return await MutateAsync((db, c) => MknodAsync(db, c, caller, parent, name, type, mode, rdev, symlinkTarget), ct).ConfigureAwait(false);
    }

    private async Task<Result<InodeAttr>> MknodAsync(
        IDatabaseAsync db, RedisCommit c, Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev, string? target)
    {
        // Pipelined: the directory, the name and (with an inode limit) the usage counter in one round trip.
        var dirRead = RequireDirectoryAsync(db, c, parent);
        var entryRead = LoadEntryAsync(db, c, parent, name, assumeAbsent: true);
        var usedRead = _inodeLimit > 0 ? db.HashGetAsync(CountersKey, "used_inodes") : null;
        var dir = await dirRead.ConfigureAwait(false);
        var entry = await entryRead.ConfigureAwait(false);
        if (dir.Nlink == 0)
            return Errno.ENOENT;
        if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
            return Errno.EACCES;
        if (entry is not null)
            return Errno.EEXIST;
        // Device nodes give raw access to hardware: only root may make them (CAP_MKNOD).
        if (type is FileType.CharDevice or FileType.BlockDevice && !caller.IsRoot)
            return Errno.EPERM;
        var err = PermissionRules.CheckAddEntry(caller, dir);
        if (err != Errno.OK)
            return err;
        if (usedRead is not null)
        {
            var limit = _inodeLimit;
            var used = (long?)await usedRead.ConfigureAwait(false) ?? 0;
            if (used >= limit)
            {
                c.Guard("HGET", CountersKey, "used_inodes", used);
                return Errno.ENOSPC;
            }
            c.GuardBelow(CountersKey, "used_inodes", limit);
        }

        var (newMode, gid) = PermissionRules.NewInodeOwnership(caller, dir, type, mode);
        var now = UnixTime.NowNanos();
        var isDir = type == FileType.Directory;
        var ino = await TakeIdAsync(db, _inodeIds).ConfigureAwait(false);
        var cookie = await TakeIdAsync(db, _cookies).ConfigureAwait(false);
        var attr = new InodeAttr
        {
            Ino = ino,
            Type = type,
            Mode = newMode,
            Uid = caller.Uid,
            Gid = gid,
            Nlink = isDir ? 2u : 1u,
            Size = isDir ? 4096 : type == FileType.Symlink ? Encoding.UTF8.GetByteCount(target!) : 0,
            Rdev = type is FileType.CharDevice or FileType.BlockDevice ? rdev : 0,
            Atime = now,
            Mtime = now,
            Ctime = now,
            Parent = isDir ? parent : 0,
        };
        StoreInode(c, attr);
        InsertEntry(c, parent, name, attr.Ino, type, cookie);
        if (type == FileType.Symlink)
            c.Op("SET", SymlinkKey(attr.Ino), target);
        Touch(c, dir, now, isDir ? 1 : 0);
        AddCounter(c, "used_inodes", 1);
        return attr;
    }

    public async ValueTask<Result<RemovedInode>> UnlinkAsync(Caller caller, ulong parent, string name, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(name);
        if (err != Errno.OK)
            return err;
        if (NameRules.IsDot(name))
            return Errno.EISDIR;
        return await MutateAsync<RemovedInode>(async (db, c) =>
        {
            var dirRead = RequireDirectoryAsync(db, c, parent);
            var entryRead = LoadEntryAsync(db, c, parent, name);
            var dir = await dirRead.ConfigureAwait(false);
            var entry = await entryRead.ConfigureAwait(false);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Errno.EACCES;
            if (entry is null)
                return Errno.ENOENT;
            if (entry.Value.Type == FileType.Directory)
                return Errno.EISDIR;
            var victim = await RequireTargetAsync(db, c, entry.Value).ConfigureAwait(false);
            var denied = PermissionRules.CheckRemoveEntry(caller, dir, victim);
            if (denied != Errno.OK)
                return denied;
            var now = UnixTime.NowNanos();
            DeleteEntry(c, parent, name);
            Touch(c, dir, now);
            return KeepsInTrash(dir)
                ? await MoveToTrashAsync(db, c, victim, parent, name, now).ConfigureAwait(false)
                : await DropNameAsync(db, c, victim, now).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask<Errno> RmdirAsync(Caller caller, ulong parent, string name, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(name);
        if (err != Errno.OK)
            return err;
        if (name == ".")
            return Errno.EINVAL;
        if (name == "..")
            return Errno.ENOTEMPTY;
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var dirRead = RequireDirectoryAsync(db, c, parent);
            var entryRead = LoadEntryAsync(db, c, parent, name);
            var dir = await dirRead.ConfigureAwait(false);
            var entry = await entryRead.ConfigureAwait(false);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Errno.EACCES;
            if (entry is null)
                return Errno.ENOENT;
            if (entry.Value.Type != FileType.Directory)
                return Errno.ENOTDIR;
            if (entry.Value.Ino == FsLimits.RootIno)
                return Errno.EBUSY;
            var victimRead = RequireTargetAsync(db, c, entry.Value);
            var childrenRead = HasEntriesAsync(db, c, entry.Value.Ino);
            var victim = await victimRead.ConfigureAwait(false);
            var hasChildren = await childrenRead.ConfigureAwait(false);
            var denied = PermissionRules.CheckRemoveEntry(caller, dir, victim);
            if (denied != Errno.OK)
                return denied;
            if (hasChildren)
                return Errno.ENOTEMPTY;
            var now = UnixTime.NowNanos();
            DeleteEntry(c, parent, name);
            Touch(c, dir, now, -1);
            await DropNameAsync(db, c, victim, now).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }

    public async ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(newName);
        if (err != Errno.OK)
            return err;
        return await MutateAsync<InodeAttr>(async (db, c) =>
        {
            var attrRead = RequireInodeAsync(db, c, ino);
            var dirRead = LoadInodeAsync(db, c, newParent);
            var entryRead = NameRules.IsDot(newName) ? Task.FromResult<Entry?>(null) : LoadEntryAsync(db, c, newParent, newName, assumeAbsent: true);
            var attr = await attrRead.ConfigureAwait(false);
            if (attr.Type == FileType.Directory)
                return Errno.EPERM;
            var dir = await dirRead.ConfigureAwait(false) ?? throw new FsException(Errno.ENOENT);
            if (dir.Type != FileType.Directory)
                return Errno.ENOTDIR;
            var entry = await entryRead.ConfigureAwait(false);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Errno.EACCES;
            if (NameRules.IsDot(newName) || entry is not null)
                return Errno.EEXIST;
            var denied = PermissionRules.CheckAddEntry(caller, dir);
            if (denied != Errno.OK)
                return denied;
            if (attr.Nlink == 0 || dir.Nlink == 0)
                return Errno.ENOENT;
            if (attr.Nlink >= FsLimits.MaxLinks)
                return Errno.EMLINK;
            var now = UnixTime.NowNanos();
            InsertEntry(c, newParent, newName, ino, attr.Type, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
            var linked = attr with { Nlink = attr.Nlink + 1, Ctime = now };
            StoreInode(c, linked);
            Touch(c, dir, now);
            return linked;
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var attrRead = db.StringGetAsync(InodeKey(ino));
        var targetRead = db.StringGetAsync(SymlinkKey(ino));
        var attr = DecodeInode(ino, await attrRead.ConfigureAwait(false));
        var target = await targetRead.ConfigureAwait(false);
        if (attr is null)
            return Errno.ENOENT;
        if (attr.Type != FileType.Symlink)
            return Errno.EINVAL;
        return target.IsNull ? Errno.EIO : (string)target!;
    }

    /// <summary>A page of a listing from one consistent view: the directory, then name, cookie, entry (and inode) per entry.</summary>
    private const string ReadDirScript = """
        local dir = redis.call('GET', KEYS[1])
        if not dir then return {} end
        local out = {dir}
        if tonumber(ARGV[2]) <= 0 then return out end
        local names = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
        for i = 1, #names, 2 do
          local e = redis.call('HGET', KEYS[3], names[i])
          if e then
            out[#out + 1] = names[i]
            out[#out + 1] = names[i + 1]
            out[#out + 1] = e
            if ARGV[3] == '1' then
              out[#out + 1] = redis.call('GET', ARGV[4] .. string.match(e, '^(%d+)')) or ''
            end
          end
        end
        return out
        """;

    public async ValueTask<Result<IReadOnlyList<DirEntry>>> ReadDirAsync(
        Caller caller, ulong ino, long afterCookie, int limit, bool plus, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var found = (RedisResult[])(await db.ScriptEvaluateAsync(ReadDirScript, [InodeKey(ino), CookiesKey(ino), EntriesKey(ino)],
            [afterCookie, Math.Max(0, limit), plus ? "1" : "0", _p + "i:"]).ConfigureAwait(false))!;
        if (found.Length == 0)
            return Errno.ENOENT;
        var dir = DecodeInode(ino, ((ReadOnlyMemory<byte>)(RedisValue)found[0]).Span);
        if (dir.Type != FileType.Directory)
            return Errno.ENOTDIR;
        if (!PermissionRules.Allows(caller, dir, AccessMode.Read))
            return Errno.EACCES;
        var stride = plus ? 4 : 3;
        var entries = new List<DirEntry>((found.Length - 1) / stride);
        for (var i = 1; i + stride - 1 < found.Length; i += stride)
        {
            var name = (string)found[i]!;
            var cookie = long.Parse((string)found[i + 1]!, NumberStyles.Float, CultureInfo.InvariantCulture);
            var entry = DecodeEntry((RedisValue)found[i + 2]);
            InodeAttr? attr = null;
            if (plus)
            {
                var bytes = (ReadOnlyMemory<byte>)(RedisValue)found[i + 3];
                attr = bytes.Length == 0 ? null : DecodeInode(entry.Ino, bytes.Span);
            }
            entries.Add(new DirEntry(name, entry.Ino, entry.Type, cookie, attr));
        }
        return entries;
    }
}

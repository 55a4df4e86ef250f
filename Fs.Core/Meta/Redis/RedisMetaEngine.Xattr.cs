using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Extended attributes: one hash per inode, name -> value.
public sealed partial class RedisMetaEngine
{
    public async ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct)
    {
        var err = NameRules.CheckXattrName(name);
        if (err != Errno.OK)
            return err;
        var db = await DbAsync(ct).ConfigureAwait(false);
        var attrRead = db.StringGetAsync(InodeKey(ino));
        var valueRead = db.HashGetAsync(XattrKey(ino), name);
        var attr = DecodeInode(ino, await attrRead.ConfigureAwait(false));
        var value = await valueRead.ConfigureAwait(false);
        if (attr is null)
            return Errno.ENOENT;
        var denied = PermissionRules.CheckXattr(caller, attr, name, write: false);
        if (denied != Errno.OK)
            return denied;
        return value.IsNull ? Errno.ENODATA : (byte[])value!;
    }

    public async ValueTask<Errno> SetXattrAsync(Caller caller, ulong ino, string name, ReadOnlyMemory<byte> value, XattrFlags flags, CancellationToken ct)
    {
        var err = NameRules.CheckXattrName(name);
        if (err != Errno.OK)
            return err;
        if (value.Length > FsLimits.MaxXattrValueBytes)
            return Errno.E2BIG;
        if (flags is not (XattrFlags.None or XattrFlags.Create or XattrFlags.Replace))
            return Errno.EINVAL;
        var bytes = value.ToArray();
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var attrRead = RequireInodeAsync(db, c, ino);
            var existsRead = XattrExistsAsync(db, c, ino, name);
            var attr = await attrRead.ConfigureAwait(false);
            var exists = await existsRead.ConfigureAwait(false);
            var denied = PermissionRules.CheckXattr(caller, attr, name, write: true);
            if (denied != Errno.OK)
                return denied;
            if (exists && flags == XattrFlags.Create)
                return Errno.EEXIST;
            if (!exists && flags == XattrFlags.Replace)
                return Errno.ENODATA;
            c.Op("HSET", XattrKey(ino), name, bytes);
            StoreInode(c, attr with { Ctime = UnixTime.NowNanos() });
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }

    public async ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var existsRead = db.KeyExistsAsync(InodeKey(ino));
        var namesRead = db.HashKeysAsync(XattrKey(ino));
        var exists = await existsRead.ConfigureAwait(false);
        var stored = await namesRead.ConfigureAwait(false);
        if (!exists)
            return Errno.ENOENT;
        var names = stored.Select(n => (string)n!).Where(n => PermissionRules.ListsXattr(caller, n)).ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public async ValueTask<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>> GetXattrsAsync(IReadOnlyList<ulong> inos, string prefix, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        // Sent together, so the client pipelines them: one round trip for the whole page.
        var reads = inos.Select(ino => db.HashGetAllAsync(XattrKey(ino))).ToArray();
        var found = new Dictionary<ulong, IReadOnlyList<Xattr>>();
        for (var i = 0; i < reads.Length; i++)
        {
            var entries = await reads[i].ConfigureAwait(false);
            var matching = entries
                .Select(e => new Xattr((string)e.Name!, (byte[])e.Value!))
                .Where(x => x.Name.StartsWith(prefix, StringComparison.Ordinal))
                .OrderBy(x => x.Name, StringComparer.Ordinal)
                .ToList();
            if (matching.Count > 0)
                found[inos[i]] = matching;
        }
        return found;
    }

    public async ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct)
    {
        var err = NameRules.CheckXattrName(name);
        if (err != Errno.OK)
            return err;
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var attrRead = RequireInodeAsync(db, c, ino);
            var existsRead = XattrExistsAsync(db, c, ino, name);
            var attr = await attrRead.ConfigureAwait(false);
            var exists = await existsRead.ConfigureAwait(false);
            var denied = PermissionRules.CheckXattr(caller, attr, name, write: true);
            if (denied != Errno.OK)
                return denied;
            if (!exists)
                return Errno.ENODATA;
            c.Op("HDEL", XattrKey(ino), name);
            StoreInode(c, attr with { Ctime = UnixTime.NowNanos() });
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }

    private async Task<bool> XattrExistsAsync(IDatabaseAsync db, RedisCommit c, ulong ino, string name)
    {
        var key = XattrKey(ino);
        var exists = await db.HashExistsAsync(key, name).ConfigureAwait(false);
        c.Guard("HEXISTS", key, name, exists ? "1" : "0");
        return exists;
    }
}

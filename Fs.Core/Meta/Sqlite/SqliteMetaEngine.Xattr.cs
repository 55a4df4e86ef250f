using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// Extended attributes.
public sealed partial class SqliteMetaEngine
{
    public async ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct)
    {
        var err = NameRules.CheckXattrName(name);
        if (err != Errno.OK)
            return err;
        return await ReadAsync(c =>
        {
            using var r = c.Query("SELECT " + "i.ino, i.type, i.mode, i.uid, i.gid, i.nlink, i.size, i.rdev, i.atime, i.mtime, i.ctime, i.parent, x.value "
                + "FROM inodes i LEFT JOIN xattrs x ON x.ino = i.ino AND x.name = ?2 WHERE i.ino = ?1", (long)ino, name);
            if (!r.Read())
                return Fail<byte[]>(Errno.ENOENT);
            var denied = PermissionRules.CheckXattr(caller, ReadAttr(r, 0), name, write: false);
            if (denied != Errno.OK)
                return Fail<byte[]>(denied);
            return r.IsDBNull(12) ? Fail<byte[]>(Errno.ENODATA) : r.GetFieldValue<byte[]>(12);
        }, ct).ConfigureAwait(false);
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
        var result = await WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            var denied = PermissionRules.CheckXattr(caller, attr, name, write: true);
            if (denied != Errno.OK)
                return Fail<bool>(denied);
            var exists = c.Long("SELECT 1 FROM xattrs WHERE ino = ?1 AND name = ?2", (long)ino, name) is not null;
            if (exists && flags == XattrFlags.Create)
                return Fail<bool>(Errno.EEXIST);
            if (!exists && flags == XattrFlags.Replace)
                return Fail<bool>(Errno.ENODATA);
            c.Execute("INSERT INTO xattrs (ino, name, value) VALUES (?1, ?2, ?3) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value",
                (long)ino, name, bytes);
            StoreInode(c, attr with { Ctime = UnixTime.NowNanos() });
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }

    public ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct) => ReadAsync<Result<IReadOnlyList<string>>>(c =>
    {
        if (c.Long("SELECT 1 FROM inodes WHERE ino = ?1", (long)ino) is null)
            return Fail<IReadOnlyList<string>>(Errno.ENOENT);
        var names = new List<string>();
        using var r = c.Query("SELECT name FROM xattrs WHERE ino = ?1 ORDER BY name", (long)ino);
        while (r.Read())
        {
            var name = r.GetString(0);
            if (PermissionRules.ListsXattr(caller, name))
                names.Add(name);
        }
        return new Result<IReadOnlyList<string>>(names);
    }, ct, snapshot: true);

    public ValueTask<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>> GetXattrsAsync(IReadOnlyList<ulong> inos, string prefix, CancellationToken ct) =>
        ReadAsync<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>>(c =>
        {
            var found = new Dictionary<ulong, IReadOnlyList<Xattr>>();
            if (inos.Count == 0)
                return found;
            // The inodes go in as one JSON array, so the statement is the same (and cached) for any number of them.
            using var r = c.Query("SELECT x.ino, x.name, x.value FROM json_each(?1) j JOIN xattrs x ON x.ino = j.value "
                + "WHERE substr(x.name, 1, length(?2)) = ?2 ORDER BY x.ino, x.name", "[" + string.Join(',', inos) + "]", prefix);
            List<Xattr>? current = null;
            ulong currentIno = 0;
            while (r.Read())
            {
                var ino = (ulong)r.GetInt64(0);
                if (current is null || ino != currentIno)
                {
                    currentIno = ino;
                    found[ino] = current = [];
                }
                current.Add(new Xattr(r.GetString(1), r.GetFieldValue<byte[]>(2)));
            }
            return found;
        }, ct, snapshot: true);

    public async ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct)
    {
        var err = NameRules.CheckXattrName(name);
        if (err != Errno.OK)
            return err;
        var result = await WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            var denied = PermissionRules.CheckXattr(caller, attr, name, write: true);
            if (denied != Errno.OK)
                return Fail<bool>(denied);
            if (c.Execute("DELETE FROM xattrs WHERE ino = ?1 AND name = ?2", (long)ino, name) == 0)
                return Fail<bool>(Errno.ENODATA);
            StoreInode(c, attr with { Ctime = UnixTime.NowNanos() });
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }
}

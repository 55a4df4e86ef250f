using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// Lookup, attributes, creation, removal, rename, links and directory listing.
public sealed partial class SqliteMetaEngine
{
    private readonly record struct Entry(ulong Ino, FileType Type, long Cookie);

    private static Entry? LoadEntry(SqliteMetaConnection c, ulong parent, string name)
    {
        using var r = c.Query("SELECT ino, type, cookie FROM dentries WHERE parent = ?1 AND name = ?2", (long)parent, name);
        return r.Read() ? new Entry((ulong)r.GetInt64(0), (FileType)r.GetInt64(1), r.GetInt64(2)) : null;
    }

    private void InsertEntry(SqliteMetaConnection c, ulong parent, string name, ulong ino, FileType type) =>
        c.Execute("INSERT INTO dentries (parent, name, ino, type, cookie) VALUES (?1, ?2, ?3, ?4, ?5)",
            (long)parent, name, (long)ino, (long)type, (long)_cookies.Take());

    private static void DeleteEntry(SqliteMetaConnection c, ulong parent, string name) =>
        c.Execute("DELETE FROM dentries WHERE parent = ?1 AND name = ?2", (long)parent, name);

    private static bool HasEntries(SqliteMetaConnection c, ulong dir) =>
        c.Long("SELECT 1 FROM dentries WHERE parent = ?1 LIMIT 1", (long)dir) is not null;

    /// <summary>An inode that an entry points to but that is gone: the database is damaged (CheckAsync repairs it).</summary>
    private static InodeAttr RequireTarget(SqliteMetaConnection c, Entry entry) =>
        LoadInode(c, entry.Ino) ?? throw new FsException(Errno.EIO, $"Entry points to missing inode {entry.Ino}.");

    private static void Touch(SqliteMetaConnection c, InodeAttr dir, long now, int nlinkDelta = 0) =>
        StoreInode(c, dir with { Mtime = now, Ctime = now, Nlink = (uint)(dir.Nlink + nlinkDelta) });

    public async ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(name);
        if (err != Errno.OK)
            return err;
        if (NameRules.IsDot(name))
        {
            return await ReadAsync(c =>
            {
                var dir = LoadInode(c, parent);
                if (dir is null)
                    return Fail<InodeAttr>(Errno.ENOENT);
                if (dir.Type != FileType.Directory)
                    return Fail<InodeAttr>(Errno.ENOTDIR);
                if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                    return Fail<InodeAttr>(Errno.EACCES);
                if (name == "." || dir.Ino == FsLimits.RootIno)
                    return dir;
                return LoadInode(c, dir.Parent) is { } up ? up : Fail<InodeAttr>(Errno.ENOENT);
            }, ct, snapshot: true).ConfigureAwait(false);
        }
        return await ReadAsync(c =>
        {
            using var r = c.Query("SELECT p.ino, p.type, p.mode, p.uid, p.gid, p.nlink, p.size, p.rdev, p.atime, p.mtime, p.ctime, p.parent, "
                + "i.ino, i.type, i.mode, i.uid, i.gid, i.nlink, i.size, i.rdev, i.atime, i.mtime, i.ctime, i.parent "
                + "FROM inodes p LEFT JOIN dentries d ON d.parent = p.ino AND d.name = ?2 LEFT JOIN inodes i ON i.ino = d.ino WHERE p.ino = ?1",
                (long)parent, name);
            if (!r.Read())
                return Fail<InodeAttr>(Errno.ENOENT);
            var dir = ReadAttr(r, 0);
            if (dir.Type != FileType.Directory)
                return Fail<InodeAttr>(Errno.ENOTDIR);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Fail<InodeAttr>(Errno.EACCES);
            return r.IsDBNull(12) ? Fail<InodeAttr>(Errno.ENOENT) : ReadAttr(r, 12);
        }, ct).ConfigureAwait(false);
    }

    public ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct) =>
        ReadAsync(c => LoadInode(c, ino) is { } attr ? new Result<InodeAttr>(attr) : Errno.ENOENT, ct);

    public ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct) =>
        ReadAsync(c => LoadInode(c, ino) is { } attr ? PermissionRules.Check(caller, attr, mode) : Errno.ENOENT, ct);

    public ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct) =>
        WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            var now = UnixTime.NowNanos();
            var applied = PermissionRules.ApplySetAttr(caller, attr, request, now);
            if (!applied.Ok)
                return applied;
            var updated = applied.Value;
            if ((request.Mask & SetAttrMask.Size) != 0 && request.Size != attr.Size)
            {
                Truncate(c, attr, request.Size);
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
        return await WriteAsync(c => Mknod(c, caller, parent, name, type, mode, rdev, symlinkTarget), ct, inodes: 1, cookies: 1)
            .ConfigureAwait(false);
    }

    private Result<InodeAttr> Mknod(SqliteMetaConnection c, Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev, string? target)
    {
        var dir = RequireDirectory(c, parent);
        if (dir.Nlink == 0)
            return Errno.ENOENT;
        if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
            return Errno.EACCES;
        if (LoadEntry(c, parent, name) is not null)
            return Errno.EEXIST;
        // Device nodes give raw access to hardware: only root may make them (CAP_MKNOD).
        if (type is FileType.CharDevice or FileType.BlockDevice && !caller.IsRoot)
            return Errno.EPERM;
        var err = PermissionRules.CheckAddEntry(caller, dir);
        if (err != Errno.OK)
            return err;
        if (_inodeLimit > 0 && Counter(c, "used_inodes") >= _inodeLimit)
            return Errno.ENOSPC;

        var (newMode, gid) = PermissionRules.NewInodeOwnership(caller, dir, type, mode);
        var now = UnixTime.NowNanos();
        var isDir = type == FileType.Directory;
        var attr = new InodeAttr
        {
            Ino = _inodeIds.Take(),
            Type = type,
            Mode = newMode,
            Uid = caller.Uid,
            Gid = gid,
            Nlink = isDir ? 2u : 1u,
            Size = isDir ? 4096 : type == FileType.Symlink ? System.Text.Encoding.UTF8.GetByteCount(target!) : 0,
            Rdev = type is FileType.CharDevice or FileType.BlockDevice ? rdev : 0,
            Atime = now,
            Mtime = now,
            Ctime = now,
            Parent = isDir ? parent : 0,
        };
        InsertInode(c, attr);
        InsertEntry(c, parent, name, attr.Ino, type);
        if (type == FileType.Symlink)
            c.Execute("INSERT INTO symlinks (ino, target) VALUES (?1, ?2)", (long)attr.Ino, target);
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
        return await WriteAsync(c =>
        {
            var dir = RequireDirectory(c, parent);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Fail<RemovedInode>(Errno.EACCES);
            var entry = LoadEntry(c, parent, name);
            if (entry is null)
                return Fail<RemovedInode>(Errno.ENOENT);
            if (entry.Value.Type == FileType.Directory)
                return Fail<RemovedInode>(Errno.EISDIR);
            var victim = RequireTarget(c, entry.Value);
            var denied = PermissionRules.CheckRemoveEntry(caller, dir, victim);
            if (denied != Errno.OK)
                return Fail<RemovedInode>(denied);
            var now = UnixTime.NowNanos();
            DeleteEntry(c, parent, name);
            Touch(c, dir, now);
            return KeepsInTrash(dir) ? MoveToTrash(c, victim, parent, name, now) : DropName(c, victim, now);
        }, ct, inodes: TrashInodes, cookies: TrashCookies).ConfigureAwait(false);
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
        var result = await WriteAsync(c =>
        {
            var dir = RequireDirectory(c, parent);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Fail<bool>(Errno.EACCES);
            var entry = LoadEntry(c, parent, name);
            if (entry is null)
                return Fail<bool>(Errno.ENOENT);
            if (entry.Value.Type != FileType.Directory)
                return Fail<bool>(Errno.ENOTDIR);
            if (entry.Value.Ino == FsLimits.RootIno)
                return Fail<bool>(Errno.EBUSY);
            var victim = RequireTarget(c, entry.Value);
            var denied = PermissionRules.CheckRemoveEntry(caller, dir, victim);
            if (denied != Errno.OK)
                return Fail<bool>(denied);
            if (HasEntries(c, victim.Ino))
                return Fail<bool>(Errno.ENOTEMPTY);
            var now = UnixTime.NowNanos();
            DeleteEntry(c, parent, name);
            Touch(c, dir, now, -1);
            DropName(c, victim, now);
            return true;
        }, ct).ConfigureAwait(false);
        return result.Error;
    }

    public async ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct)
    {
        var err = NameRules.CheckEntryName(newName);
        if (err != Errno.OK)
            return err;
        return await WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            if (attr.Type == FileType.Directory)
                return Fail<InodeAttr>(Errno.EPERM);
            var dir = RequireDirectory(c, newParent);
            if (!PermissionRules.Allows(caller, dir, AccessMode.Execute))
                return Fail<InodeAttr>(Errno.EACCES);
            if (NameRules.IsDot(newName) || LoadEntry(c, newParent, newName) is not null)
                return Fail<InodeAttr>(Errno.EEXIST);
            var denied = PermissionRules.CheckAddEntry(caller, dir);
            if (denied != Errno.OK)
                return Fail<InodeAttr>(denied);
            if (attr.Nlink == 0 || dir.Nlink == 0)
                return Fail<InodeAttr>(Errno.ENOENT);
            if (attr.Nlink >= FsLimits.MaxLinks)
                return Fail<InodeAttr>(Errno.EMLINK);
            var now = UnixTime.NowNanos();
            InsertEntry(c, newParent, newName, ino, attr.Type);
            var linked = attr with { Nlink = attr.Nlink + 1, Ctime = now };
            StoreInode(c, linked);
            Touch(c, dir, now);
            return linked;
        }, ct, cookies: 1).ConfigureAwait(false);
    }

    public ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct) => ReadAsync(c =>
    {
        using var r = c.Query("SELECT i.type, s.target FROM inodes i LEFT JOIN symlinks s ON s.ino = i.ino WHERE i.ino = ?1", (long)ino);
        if (!r.Read())
            return Fail<string>(Errno.ENOENT);
        if ((FileType)r.GetInt64(0) != FileType.Symlink)
            return Fail<string>(Errno.EINVAL);
        return r.IsDBNull(1) ? Fail<string>(Errno.EIO) : r.GetString(1);
    }, ct);

    public ValueTask<Result<IReadOnlyList<DirEntry>>> ReadDirAsync(
        Caller caller, ulong ino, long afterCookie, int limit, bool plus, CancellationToken ct) => ReadAsync<Result<IReadOnlyList<DirEntry>>>(c =>
    {
        var dir = LoadInode(c, ino);
        if (dir is null)
            return Fail<IReadOnlyList<DirEntry>>(Errno.ENOENT);
        if (dir.Type != FileType.Directory)
            return Fail<IReadOnlyList<DirEntry>>(Errno.ENOTDIR);
        if (!PermissionRules.Allows(caller, dir, AccessMode.Read))
            return Fail<IReadOnlyList<DirEntry>>(Errno.EACCES);
        var entries = new List<DirEntry>(Math.Clamp(limit, 0, 1024));
        if (limit <= 0)
            return new Result<IReadOnlyList<DirEntry>>(entries);
        if (plus)
        {
            using var r = c.Query("SELECT d.name, d.ino, d.type, d.cookie, " + "i.ino, i.type, i.mode, i.uid, i.gid, i.nlink, i.size, i.rdev, i.atime, i.mtime, i.ctime, i.parent "
                + "FROM dentries d LEFT JOIN inodes i ON i.ino = d.ino WHERE d.parent = ?1 AND d.cookie > ?2 ORDER BY d.cookie LIMIT ?3",
                (long)ino, afterCookie, (long)limit);
            while (r.Read())
                entries.Add(new DirEntry(r.GetString(0), (ulong)r.GetInt64(1), (FileType)r.GetInt64(2), r.GetInt64(3),
                    r.IsDBNull(4) ? null : ReadAttr(r, 4)));
        }
        else
        {
            using var r = c.Query("SELECT name, ino, type, cookie FROM dentries WHERE parent = ?1 AND cookie > ?2 ORDER BY cookie LIMIT ?3",
                (long)ino, afterCookie, (long)limit);
            while (r.Read())
                entries.Add(new DirEntry(r.GetString(0), (ulong)r.GetInt64(1), (FileType)r.GetInt64(2), r.GetInt64(3)));
        }
        return new Result<IReadOnlyList<DirEntry>>(entries);
    }, ct, snapshot: true);
}

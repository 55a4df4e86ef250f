using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// rename(2) and renameat2(2) with the Linux rules.
public sealed partial class SqliteMetaEngine
{
    public async ValueTask<Result<RemovedInode?>> RenameAsync(
        Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags, CancellationToken ct)
    {
        var err = NameRules.CheckRename(name, newName, flags);
        if (err != Errno.OK)
            return err;
        return await WriteAsync(c => Rename(c, caller, parent, name, newParent, newName, flags), ct,
                inodes: TrashInodes, cookies: 2 + TrashCookies)
            .ConfigureAwait(false);
    }

    private Result<RemovedInode?> Rename(SqliteMetaConnection c, Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags)
    {
        var exchange = (flags & RenameFlags.Exchange) != 0;
        var srcDir = RequireDirectory(c, parent);
        var dstDir = newParent == parent ? srcDir : RequireDirectory(c, newParent);
        if (!PermissionRules.Allows(caller, srcDir, AccessMode.Execute) || !PermissionRules.Allows(caller, dstDir, AccessMode.Execute))
            return Errno.EACCES;
        var src = LoadEntry(c, parent, name);
        if (src is null)
            return Errno.ENOENT;
        var dst = LoadEntry(c, newParent, newName);
        if (dst is null && exchange)
            return Errno.ENOENT;
        if (dst is not null && (flags & RenameFlags.NoReplace) != 0)
            return Errno.EEXIST;
        if (dst is not null && dst.Value.Ino == src.Value.Ino)
            return (RemovedInode?)null; // two names of one inode (or the same name): POSIX says do nothing
        if (dstDir.Nlink == 0)
            return Errno.ENOENT;

        var srcAttr = RequireTarget(c, src.Value);
        var dstAttr = dst is null ? null : RequireTarget(c, dst.Value);
        var srcIsDir = srcAttr.Type == FileType.Directory;
        var dstIsDir = dstAttr?.Type == FileType.Directory;
        var moves = parent != newParent;

        // A directory cannot go below itself; with EXCHANGE neither can the other one.
        if (moves && srcIsDir && IsAncestorOrSelf(c, srcAttr.Ino, newParent))
            return Errno.EINVAL;
        if (moves && exchange && dstIsDir && IsAncestorOrSelf(c, dstAttr!.Ino, parent))
            return Errno.EINVAL;
        // The target being an ancestor of the source is ENOTEMPTY on Linux, checked before the type rules.
        if (!exchange && dstIsDir && IsAncestorOrSelf(c, dstAttr!.Ino, parent))
            return Errno.ENOTEMPTY;

        var err = PermissionRules.CheckRename(caller, srcDir, srcAttr, dstDir, dstAttr, exchange);
        if (err != Errno.OK)
            return err;

        if (!exchange && dstAttr is not null)
        {
            if (dstIsDir && HasEntries(c, dstAttr.Ino))
                return Errno.ENOTEMPTY;
        }

        var now = UnixTime.NowNanos();
        int srcDirLinks = 0, dstDirLinks = 0;
        RemovedInode? removed = null;
        if (exchange)
        {
            SetEntry(c, parent, name, dstAttr!.Ino, dstAttr.Type);
            SetEntry(c, newParent, newName, srcAttr.Ino, srcAttr.Type);
            if (moves && srcIsDir)
            {
                srcDirLinks--;
                dstDirLinks++;
            }
            if (moves && dstIsDir)
            {
                dstDirLinks--;
                srcDirLinks++;
            }
            StoreInode(c, dstAttr with { Ctime = now, Parent = dstIsDir ? parent : dstAttr.Parent });
        }
        else
        {
            if (dstAttr is not null)
            {
                DeleteEntry(c, newParent, newName);
                if (dstIsDir)
                    dstDirLinks--;
                removed = !dstIsDir && KeepsInTrash(dstDir) ? MoveToTrash(c, dstAttr, newParent, newName, now) : DropName(c, dstAttr, now);
            }
            DeleteEntry(c, parent, name);
            InsertEntry(c, newParent, newName, srcAttr.Ino, srcAttr.Type);
            if (moves && srcIsDir)
            {
                srcDirLinks--;
                dstDirLinks++;
            }
        }
        StoreInode(c, srcAttr with { Ctime = now, Parent = srcIsDir ? newParent : srcAttr.Parent });
        if (moves)
        {
            Touch(c, srcDir, now, srcDirLinks);
            Touch(c, dstDir, now, dstDirLinks);
        }
        else
        {
            Touch(c, srcDir, now, srcDirLinks + dstDirLinks);
        }
        return removed;
    }

    /// <summary>Points an existing entry at another inode; the entry gets a fresh cookie, as a new entry would.</summary>
    private void SetEntry(SqliteMetaConnection c, ulong parent, string name, ulong ino, FileType type) =>
        c.Execute("UPDATE dentries SET ino = ?3, type = ?4, cookie = ?5 WHERE parent = ?1 AND name = ?2",
            (long)parent, name, (long)ino, (long)type, (long)_cookies.Take());

    /// <summary>Whether <paramref name="ancestor"/> is <paramref name="dir"/> or one of its parents, walking ".." up to the root.</summary>
    private static bool IsAncestorOrSelf(SqliteMetaConnection c, ulong ancestor, ulong dir)
    {
        // The bound only guards against a corrupt parent chain looping forever.
        for (var depth = 0; depth < 100_000; depth++)
        {
            if (dir == ancestor)
                return true;
            if (dir == FsLimits.RootIno)
                return false;
            var up = c.Long("SELECT parent FROM inodes WHERE ino = ?1", (long)dir);
            if (up is null)
                return false;
            dir = (ulong)up.Value;
        }
        throw new FsException(Errno.EIO, "Directory parent chain does not reach the root.");
    }
}

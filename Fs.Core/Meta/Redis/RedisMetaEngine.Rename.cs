using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// rename(2) and renameat2(2) with the Linux rules, decided exactly as the SQLite engine decides them.
public sealed partial class RedisMetaEngine
{
    public async ValueTask<Result<RemovedInode?>> RenameAsync(
        Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags, CancellationToken ct)
    {
        var err = NameRules.CheckRename(name, newName, flags);
        if (err != Errno.OK)
            return err;
        return await MutateAsync((db, c) => RenameAsync(db, c, caller, parent, name, newParent, newName, flags), ct).ConfigureAwait(false);
    }

    private async Task<Result<RemovedInode?>> RenameAsync(
        IDatabaseAsync db, RedisCommit c, Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags)
    {
        var exchange = (flags & RenameFlags.Exchange) != 0;
        var srcDirRead = RequireDirectoryAsync(db, c, parent);
        var dstDirRead = newParent == parent ? srcDirRead : RequireDirectoryAsync(db, c, newParent);
        var srcRead = LoadEntryAsync(db, c, parent, name);
        var dstRead = LoadEntryAsync(db, c, newParent, newName, assumeAbsent: (flags & RenameFlags.Exchange) == 0);
        var srcDir = await srcDirRead.ConfigureAwait(false);
        var dstDir = await dstDirRead.ConfigureAwait(false);
        if (!PermissionRules.Allows(caller, srcDir, AccessMode.Execute) || !PermissionRules.Allows(caller, dstDir, AccessMode.Execute))
            return Errno.EACCES;
        var src = await srcRead.ConfigureAwait(false);
        if (src is null)
            return Errno.ENOENT;
        var dst = await dstRead.ConfigureAwait(false);
        if (dst is null && exchange)
            return Errno.ENOENT;
        if (dst is not null && (flags & RenameFlags.NoReplace) != 0)
            return Errno.EEXIST;
        if (dst is not null && dst.Value.Ino == src.Value.Ino)
            return (RemovedInode?)null; // two names of one inode (or the same name): POSIX says do nothing
        if (dstDir.Nlink == 0)
            return Errno.ENOENT;

        var srcAttrRead = RequireTargetAsync(db, c, src.Value);
        var dstAttrRead = dst is null ? Task.FromResult<InodeAttr>(null!) : RequireTargetAsync(db, c, dst.Value);
        var srcAttr = await srcAttrRead.ConfigureAwait(false);
        var dstAttr = dst is null ? null : await dstAttrRead.ConfigureAwait(false);
        var srcIsDir = srcAttr.Type == FileType.Directory;
        var dstIsDir = dstAttr?.Type == FileType.Directory;
        var moves = parent != newParent;

        // A directory cannot go below itself; with EXCHANGE neither can the other one.
        if (moves && srcIsDir && await IsAncestorOrSelfAsync(db, c, srcAttr.Ino, newParent).ConfigureAwait(false))
            return Errno.EINVAL;
        if (moves && exchange && dstIsDir && await IsAncestorOrSelfAsync(db, c, dstAttr!.Ino, parent).ConfigureAwait(false))
            return Errno.EINVAL;
        // The target being an ancestor of the source is ENOTEMPTY on Linux, checked before the type rules.
        if (!exchange && dstIsDir && await IsAncestorOrSelfAsync(db, c, dstAttr!.Ino, parent).ConfigureAwait(false))
            return Errno.ENOTEMPTY;

        var err = PermissionRules.CheckRename(caller, srcDir, srcAttr, dstDir, dstAttr, exchange);
        if (err != Errno.OK)
            return err;

        if (!exchange && dstAttr is not null)
        {
            if (dstIsDir && await HasEntriesAsync(db, c, dstAttr.Ino).ConfigureAwait(false))
                return Errno.ENOTEMPTY;
        }

        var now = UnixTime.NowNanos();
        int srcDirLinks = 0, dstDirLinks = 0;
        RemovedInode? removed = null;
        if (exchange)
        {
            // Each name points at the other inode and gets a fresh cookie, as a new entry would.
            InsertEntry(c, parent, name, dstAttr!.Ino, dstAttr.Type, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
            InsertEntry(c, newParent, newName, srcAttr.Ino, srcAttr.Type, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
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
                removed = !dstIsDir && KeepsInTrash(dstDir)
                    ? await MoveToTrashAsync(db, c, dstAttr, newParent, newName, now).ConfigureAwait(false)
                    : await DropNameAsync(db, c, dstAttr, now).ConfigureAwait(false);
            }
            DeleteEntry(c, parent, name);
            InsertEntry(c, newParent, newName, srcAttr.Ino, srcAttr.Type, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
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

    /// <summary>Whether <paramref name="ancestor"/> is <paramref name="dir"/> or one of its parents, walking ".." up to the root.</summary>
    private async Task<bool> IsAncestorOrSelfAsync(IDatabaseAsync db, RedisCommit c, ulong ancestor, ulong dir)
    {
        // Every step is guarded, so a concurrent move elsewhere on the path makes the commit retry. The bound only guards
        // against a corrupt parent chain looping forever.
        for (var depth = 0; depth < 100_000; depth++)
        {
            if (dir == ancestor)
                return true;
            if (dir == FsLimits.RootIno)
                return false;
            var attr = await LoadInodeAsync(db, c, dir).ConfigureAwait(false);
            if (attr is null)
                return false;
            dir = attr.Parent;
        }
        throw new FsException(Errno.EIO, "Directory parent chain does not reach the root.");
    }
}

using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>
/// The POSIX permission rules as Linux (ext4) applies them, free of any storage: every engine calls these inside its
/// atomic step with the attributes it just read.
/// </summary>
public static class PermissionRules
{
    private const uint AnyExecute = 0x49; // 0111

    /// <summary>
    /// Whether <paramref name="caller"/> may access the inode with <paramref name="mode"/>: owner, group (including
    /// supplementary groups) or other bits; root passes everything except execute on a non-directory without any x bit.
    /// </summary>
    public static bool Allows(Caller caller, InodeAttr attr, AccessMode mode)
    {
        var want = (uint)mode & 7;
        if (want == 0)
            return true;
        if (caller.IsRoot)
            return (want & 1) == 0 || attr.Type == FileType.Directory || (attr.Mode & AnyExecute) != 0;
        uint granted;
        if (caller.Uid == attr.Uid)
            granted = (attr.Mode >> 6) & 7;
        else if (caller.InGroup(attr.Gid))
            granted = (attr.Mode >> 3) & 7;
        else
            granted = attr.Mode & 7;
        return (granted & want) == want;
    }

    /// <summary><see cref="Allows"/> as an errno: OK or EACCES.</summary>
    public static Errno Check(Caller caller, InodeAttr attr, AccessMode mode) =>
        Allows(caller, attr, mode) ? Errno.OK : Errno.EACCES;

    public static bool IsOwnerOrRoot(Caller caller, InodeAttr attr) => caller.IsRoot || caller.Uid == attr.Uid;

    /// <summary>Adding an entry to a directory needs write and search permission on it.</summary>
    public static Errno CheckAddEntry(Caller caller, InodeAttr dir) => Check(caller, dir, AccessMode.Write | AccessMode.Execute);

    /// <summary>
    /// Removing (or renaming away) <paramref name="victim"/>'s entry from <paramref name="dir"/>: write and search permission
    /// on the directory (EACCES), and in a sticky directory only the owner of the entry or of the directory, or root (EPERM).
    /// </summary>
    public static Errno CheckRemoveEntry(Caller caller, InodeAttr dir, InodeAttr victim)
    {
        var err = CheckAddEntry(caller, dir);
        if (err != Errno.OK)
            return err;
        if ((dir.Mode & InodeAttr.Sticky) != 0 && !caller.IsRoot && caller.Uid != dir.Uid && caller.Uid != victim.Uid)
            return Errno.EPERM;
        return Errno.OK;
    }

    /// <summary>
    /// Mode and group of a new inode: the caller's gid, or the directory's gid when the directory is setgid (and then
    /// subdirectories inherit the setgid bit). A non-root caller asking for setgid on a file of a group he is not in loses it.
    /// The umask is the door's business (the kernel applies it for FUSE, NFS clients apply their own).
    /// </summary>
    public static (uint Mode, uint Gid) NewInodeOwnership(Caller caller, InodeAttr parent, FileType type, uint mode)
    {
        mode &= 0xFFF;
        var gid = caller.Gid;
        if ((parent.Mode & InodeAttr.SetGid) != 0)
        {
            gid = parent.Gid;
            if (type == FileType.Directory)
                mode |= InodeAttr.SetGid;
        }
        if (type != FileType.Directory && (mode & InodeAttr.SetGid) != 0 && !caller.IsRoot && !caller.InGroup(gid))
            mode &= ~InodeAttr.SetGid;
        return (mode, gid);
    }

    /// <summary>
    /// Applies the mode, owner and time parts of a setattr to <paramref name="attr"/> with the Linux rules, returning the new
    /// attributes or the errno. Size is only permission-checked here (write permission, regular files only); the engine
    /// truncates and sets mtime when the size really changes. ctime becomes <paramref name="now"/> (or the requested ctime).
    /// </summary>
    public static Result<InodeAttr> ApplySetAttr(Caller caller, InodeAttr attr, in SetAttrRequest request, long now)
    {
        var mask = request.Mask;
        var mode = attr.Mode;
        var uid = attr.Uid;
        var gid = attr.Gid;

        if ((mask & SetAttrMask.Size) != 0)
        {
            if (attr.Type == FileType.Directory)
                return Errno.EISDIR;
            if (attr.Type != FileType.Regular || request.Size < 0)
                return Errno.EINVAL;
            if (request.Size > FsLimits.MaxFileSize)
                return Errno.EFBIG;
            if (!Allows(caller, attr, AccessMode.Write))
                return Errno.EACCES;
            // A write-like change by an unprivileged user drops setuid, and setgid on group-executable files (as truncate(2)).
            if (!caller.IsRoot && request.Size != attr.Size)
                mode = KillSetIds(mode);
        }

        if ((mask & (SetAttrMask.Uid | SetAttrMask.Gid)) != 0)
        {
            var newUid = (mask & SetAttrMask.Uid) != 0 ? request.Uid : uid;
            var newGid = (mask & SetAttrMask.Gid) != 0 ? request.Gid : gid;
            if (!caller.IsRoot)
            {
                if ((mask & SetAttrMask.Uid) != 0 && (caller.Uid != attr.Uid || newUid != attr.Uid))
                    return Errno.EPERM;
                if ((mask & SetAttrMask.Gid) != 0 && (caller.Uid != attr.Uid || (newGid != attr.Gid && !caller.InGroup(newGid))))
                    return Errno.EPERM;
            }
            // chown(2): any change of owner or group of a non-directory drops setuid, and setgid when group-executable,
            // for root as well (Linux since 2.2.13).
            if (attr.Type != FileType.Directory)
                mode = KillSetIds(mode);
            uid = newUid;
            gid = newGid;
        }

        if ((mask & SetAttrMask.Mode) != 0)
        {
            if (!IsOwnerOrRoot(caller, attr))
                return Errno.EPERM;
            mode = request.Mode & 0xFFF;
            if (!caller.IsRoot && (mode & InodeAttr.SetGid) != 0 && !caller.InGroup(gid))
                mode &= ~InodeAttr.SetGid;
        }

        var atime = attr.Atime;
        var mtime = attr.Mtime;
        var explicitTimes = mask & (SetAttrMask.Atime | SetAttrMask.Mtime | SetAttrMask.Ctime);
        var nowTimes = mask & (SetAttrMask.AtimeNow | SetAttrMask.MtimeNow);
        if (explicitTimes != 0 && !IsOwnerOrRoot(caller, attr))
            return Errno.EPERM;
        if (nowTimes != 0 && !IsOwnerOrRoot(caller, attr) && !Allows(caller, attr, AccessMode.Write))
            return Errno.EACCES;
        if ((mask & SetAttrMask.AtimeNow) != 0)
            atime = now;
        else if ((mask & SetAttrMask.Atime) != 0)
            atime = request.Atime;
        if ((mask & SetAttrMask.MtimeNow) != 0)
            mtime = now;
        else if ((mask & SetAttrMask.Mtime) != 0)
            mtime = request.Mtime;

        var ctime = (mask & SetAttrMask.Ctime) != 0 ? request.Ctime : mask == SetAttrMask.None ? attr.Ctime : now;
        return attr with { Mode = mode, Uid = uid, Gid = gid, Atime = atime, Mtime = mtime, Ctime = ctime };
    }

    /// <summary>
    /// xattr_permission(): user.* only on regular files and directories (others: EPERM to write, ENODATA to read), sticky
    /// directories writable only by owner or root; trusted.* root only (EPERM / ENODATA); security.* readable by all,
    /// writable by root only (no security module grants more); then the ordinary read or write permission.
    /// </summary>
    public static Errno CheckXattr(Caller caller, InodeAttr attr, string name, bool write)
    {
        switch (NameRules.NamespaceOf(name))
        {
            case XattrNamespace.Trusted:
                return caller.IsRoot ? Errno.OK : write ? Errno.EPERM : Errno.ENODATA;
            case XattrNamespace.Security:
                return !write || caller.IsRoot ? Errno.OK : Errno.EPERM;
            case XattrNamespace.User:
                if (attr.Type is not (FileType.Regular or FileType.Directory))
                    return write ? Errno.EPERM : Errno.ENODATA;
                if (write && attr.Type == FileType.Directory && (attr.Mode & InodeAttr.Sticky) != 0 && !IsOwnerOrRoot(caller, attr))
                    return Errno.EPERM;
                return Check(caller, attr, write ? AccessMode.Write : AccessMode.Read);
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    /// <summary>Whether listxattr shows this name to the caller (trusted.* is hidden from non-root, as Linux does).</summary>
    public static bool ListsXattr(Caller caller, string name) =>
        caller.IsRoot || NameRules.NamespaceOf(name) != XattrNamespace.Trusted;

    /// <summary>Permission needed to open with <paramref name="flags"/>: read and/or write by access mode, write for O_TRUNC.</summary>
    public static AccessMode OpenAccess(OpenFlags flags)
    {
        var access = (flags & OpenFlags.AccessMask) switch
        {
            OpenFlags.WriteOnly => AccessMode.Write,
            OpenFlags.ReadWrite => AccessMode.Read | AccessMode.Write,
            _ => AccessMode.Read,
        };
        if ((flags & OpenFlags.Truncate) != 0)
            access |= AccessMode.Write;
        return access;
    }

    private static uint KillSetIds(uint mode)
    {
        mode &= ~InodeAttr.SetUid;
        if ((mode & 0x8) != 0) // S_IXGRP: without it setgid means mandatory locking and stays
            mode &= ~InodeAttr.SetGid;
        return mode;
    }

    /// <summary>
    /// The rules of rename(2) that need no more than the two directories and the two inodes: sticky and write permission
    /// on both directories, write permission on a directory whose ".." changes, then the type rules (ENOTDIR, EISDIR).
    /// Whether a replaced directory is empty is the engine's to check after this.
    /// </summary>
    public static Errno CheckRename(Caller caller, InodeAttr srcDir, InodeAttr src, InodeAttr dstDir, InodeAttr? dst, bool exchange)
    {
        var moves = srcDir.Ino != dstDir.Ino;
        var srcIsDir = src.Type == FileType.Directory;
        var dstIsDir = dst?.Type == FileType.Directory;
        var err = CheckRemoveEntry(caller, srcDir, src);
        if (err == Errno.OK)
            err = dst is null ? CheckAddEntry(caller, dstDir) : CheckRemoveEntry(caller, dstDir, dst);
        // A directory changing parent rewrites its "..", which needs write permission on the directory itself.
        if (err == Errno.OK && moves && srcIsDir)
            err = Check(caller, src, AccessMode.Write);
        if (err == Errno.OK && moves && exchange && dstIsDir)
            err = Check(caller, dst!, AccessMode.Write);
        if (err != Errno.OK || exchange || dst is null)
            return err;
        if (srcIsDir && !dstIsDir)
            return Errno.ENOTDIR;
        if (!srcIsDir && dstIsDir)
            return Errno.EISDIR;
        return Errno.OK;
    }
}

using System.Text;
using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>Validation of entry names, symlink targets and xattr names, shared by every metadata engine.</summary>
public static class NameRules
{
    /// <summary>
    /// Checks one path component: ENOENT when empty (as open("") fails), EINVAL with '/' or NUL inside, ENAMETOOLONG
    /// beyond 255 UTF-8 bytes. "." and ".." pass; each operation decides what they mean for it.
    /// </summary>
    public static Errno CheckEntryName(string name)
    {
        if (name.Length == 0)
            return Errno.ENOENT;
        if (name.AsSpan().IndexOfAny('/', '\0') >= 0)
            return Errno.EINVAL;
        if (name.Length > FsLimits.MaxNameBytes / 3 && Encoding.UTF8.GetByteCount(name) > FsLimits.MaxNameBytes)
            return Errno.ENAMETOOLONG;
        return Errno.OK;
    }

    public static bool IsDot(string name) => name is "." or "..";

    /// <summary>Checks a symlink target: ENOENT when empty (as symlink(2)), EINVAL with NUL, ENAMETOOLONG beyond 4096 bytes.</summary>
    public static Errno CheckSymlinkTarget(string target)
    {
        if (target.Length == 0)
            return Errno.ENOENT;
        if (target.Contains('\0'))
            return Errno.EINVAL;
        return Encoding.UTF8.GetByteCount(target) > FsLimits.MaxSymlinkBytes ? Errno.ENAMETOOLONG : Errno.OK;
    }

    /// <summary>
    /// Checks an xattr name: ERANGE when empty or beyond 255 bytes (as Linux), EOPNOTSUPP without a namespace we store
    /// (user., trusted., security.). system.* holds POSIX ACLs, which this file system does not implement, so it is EOPNOTSUPP too.
    /// </summary>
    public static Errno CheckXattrName(string name)
    {
        if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > FsLimits.MaxXattrNameBytes)
            return Errno.ERANGE;
        return NamespaceOf(name) is XattrNamespace.User or XattrNamespace.Trusted or XattrNamespace.Security
            ? Errno.OK
            : Errno.EOPNOTSUPP;
    }

    public static XattrNamespace NamespaceOf(string name)
    {
        if (name.StartsWith("user.", StringComparison.Ordinal) && name.Length > 5)
            return XattrNamespace.User;
        if (name.StartsWith("trusted.", StringComparison.Ordinal) && name.Length > 8)
            return XattrNamespace.Trusted;
        if (name.StartsWith("security.", StringComparison.Ordinal) && name.Length > 9)
            return XattrNamespace.Security;
        if (name.StartsWith("system.", StringComparison.Ordinal))
            return XattrNamespace.System;
        return XattrNamespace.None;
    }

    /// <summary>The argument checks of rename(2) that come before any state is read, the same for every engine.</summary>
    public static Errno CheckRename(string name, string newName, RenameFlags flags)
    {
        if ((flags & ~(RenameFlags.NoReplace | RenameFlags.Exchange)) != 0
            || flags == (RenameFlags.NoReplace | RenameFlags.Exchange))
            return Errno.EINVAL;
        var err = CheckEntryName(name);
        if (err == Errno.OK)
            err = CheckEntryName(newName);
        if (err != Errno.OK)
            return err;
        if (IsDot(name))
            return Errno.EBUSY;
        if (IsDot(newName))
            return (flags & RenameFlags.NoReplace) != 0 ? Errno.EEXIST : Errno.EBUSY;
        return Errno.OK;
    }

    /// <summary>The argument checks of mknod/mkdir/symlink that come before any state is read, the same for every engine.</summary>
    public static Errno CheckMknod(string name, FileType type, string? symlinkTarget)
    {
        var err = CheckEntryName(name);
        if (err != Errno.OK)
            return err;
        if (IsDot(name))
            return Errno.EEXIST;
        if (!Enum.IsDefined(type))
            return Errno.EINVAL;
        if (type != FileType.Symlink)
            return Errno.OK;
        return symlinkTarget is null ? Errno.EINVAL : CheckSymlinkTarget(symlinkTarget);
    }
}

/// <summary>The Linux xattr namespaces, which differ in who may read and write them.</summary>
public enum XattrNamespace
{
    None,
    User,
    Trusted,
    Security,
    System,
}

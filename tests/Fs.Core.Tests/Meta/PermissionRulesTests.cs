using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

public class PermissionRulesTests
{
    private static readonly Caller Owner = new(10, 10, []);
    private static readonly Caller GroupMember = new(20, 20, [30]);
    private static readonly Caller Other = new(40, 40, []);

    private static InodeAttr File(uint mode, FileType type = FileType.Regular) =>
        new() { Ino = 2, Type = type, Mode = mode, Uid = 10, Gid = 30 };

    [Theory]
    // mode, who (0 owner, 1 group via supplementary list, 2 other), access, allowed
    [InlineData(0x1A4u, 0, AccessMode.Read | AccessMode.Write, true)] // 0644
    [InlineData(0x1A4u, 1, AccessMode.Read, true)]
    [InlineData(0x1A4u, 1, AccessMode.Write, false)]
    [InlineData(0x1A4u, 2, AccessMode.Read, true)]
    [InlineData(0x1A4u, 2, AccessMode.Execute, false)]
    [InlineData(0x038u, 0, AccessMode.Read, false)] // 0070: the owner class decides even when the group class would allow
    [InlineData(0x038u, 1, AccessMode.Read | AccessMode.Write | AccessMode.Execute, true)]
    [InlineData(0x007u, 1, AccessMode.Read, false)] // 0007: group members get the group class, not other
    [InlineData(0x007u, 2, AccessMode.Read | AccessMode.Write | AccessMode.Execute, true)]
    [InlineData(0x000u, 2, AccessMode.Exists, true)]
    public void Access_matrix(uint mode, int who, AccessMode access, bool allowed)
    {
        var caller = who switch { 0 => Owner, 1 => GroupMember, _ => Other };
        Assert.Equal(allowed, PermissionRules.Allows(caller, File(mode), access));
    }

    [Fact]
    public void Root_bypasses_all_but_execute_without_any_x_bit()
    {
        Assert.True(PermissionRules.Allows(Caller.Root, File(0), AccessMode.Read | AccessMode.Write));
        Assert.False(PermissionRules.Allows(Caller.Root, File(0x1A4), AccessMode.Execute));
        Assert.True(PermissionRules.Allows(Caller.Root, File(0x001), AccessMode.Execute));
        Assert.True(PermissionRules.Allows(Caller.Root, File(0, FileType.Directory), AccessMode.Execute));
    }

    [Fact]
    public void Sticky_directory_lets_only_owners_and_root_remove()
    {
        var tmp = new InodeAttr { Ino = 3, Type = FileType.Directory, Mode = 0x3FF, Uid = 0, Gid = 0 };
        var victim = File(0x1A4);
        Assert.Equal(Errno.EPERM, PermissionRules.CheckRemoveEntry(Other, tmp, victim));
        Assert.Equal(Errno.OK, PermissionRules.CheckRemoveEntry(Owner, tmp, victim));
        Assert.Equal(Errno.OK, PermissionRules.CheckRemoveEntry(Caller.Root, tmp, victim));
        Assert.Equal(Errno.OK, PermissionRules.CheckRemoveEntry(Other, tmp with { Uid = 40 }, victim));
        Assert.Equal(Errno.EACCES, PermissionRules.CheckRemoveEntry(Other, tmp with { Mode = 0x1ED }, victim));
    }

    [Fact]
    public void Chmod_only_by_owner_or_root_and_setgid_dropped_outside_the_group()
    {
        var now = 5L;
        var file = File(0x1A4);
        Assert.Equal(Errno.EPERM, PermissionRules.ApplySetAttr(Other, file, new SetAttrRequest(SetAttrMask.Mode, Mode: 0x1FF), now).Error);
        var own = PermissionRules.ApplySetAttr(Owner, file, new SetAttrRequest(SetAttrMask.Mode, Mode: 0x5ED), now).Value; // 02755, owner not in gid 30
        Assert.Equal(0x1EDu, own.Mode);
        Assert.Equal(now, own.Ctime);
        var asRoot = PermissionRules.ApplySetAttr(Caller.Root, file, new SetAttrRequest(SetAttrMask.Mode, Mode: 0x5ED), now).Value;
        Assert.Equal(0x5EDu, asRoot.Mode);
    }

    [Fact]
    public void Chown_rules()
    {
        var file = File(0xDED); // 06755
        Assert.Equal(Errno.EPERM, PermissionRules.ApplySetAttr(Owner, file, new SetAttrRequest(SetAttrMask.Uid, Uid: 20), 1).Error);
        Assert.Equal(Errno.EPERM, PermissionRules.ApplySetAttr(Other, file, new SetAttrRequest(SetAttrMask.Uid, Uid: 10), 1).Error);
        var ownerInGroup = new Caller(10, 10, [77]);
        Assert.Equal(Errno.EPERM, PermissionRules.ApplySetAttr(ownerInGroup, file, new SetAttrRequest(SetAttrMask.Gid, Gid: 78), 1).Error);
        var chgrp = PermissionRules.ApplySetAttr(ownerInGroup, file, new SetAttrRequest(SetAttrMask.Gid, Gid: 77), 1).Value;
        Assert.Equal((77u, 0x1EDu), (chgrp.Gid, chgrp.Mode)); // setuid and (group-executable) setgid cleared
        var byRoot = PermissionRules.ApplySetAttr(Caller.Root, file, new SetAttrRequest(SetAttrMask.Uid | SetAttrMask.Gid, Uid: 5, Gid: 6), 1).Value;
        Assert.Equal((5u, 6u, 0x1EDu), (byRoot.Uid, byRoot.Gid, byRoot.Mode));
        // Without group execute, setgid means mandatory locking and survives.
        var noGroupExec = PermissionRules.ApplySetAttr(Caller.Root, File(0x5E5), new SetAttrRequest(SetAttrMask.Uid, Uid: 5), 1).Value; // 02745
        Assert.Equal(0x5E5u, noGroupExec.Mode);
        var dir = PermissionRules.ApplySetAttr(Caller.Root, File(0xDED, FileType.Directory), new SetAttrRequest(SetAttrMask.Uid, Uid: 5), 1).Value;
        Assert.Equal(0xDEDu, dir.Mode);
    }

    [Fact]
    public void Times_now_need_write_permission_explicit_times_need_ownership()
    {
        var writable = File(0x1B6); // 0666
        Assert.Equal(Errno.OK, PermissionRules.ApplySetAttr(Other, writable, new SetAttrRequest(SetAttrMask.AtimeNow | SetAttrMask.MtimeNow), 9).Error);
        Assert.Equal(Errno.EPERM, PermissionRules.ApplySetAttr(Other, writable, new SetAttrRequest(SetAttrMask.Mtime, Mtime: 3), 9).Error);
        Assert.Equal(Errno.EACCES, PermissionRules.ApplySetAttr(Other, File(0x1A4), new SetAttrRequest(SetAttrMask.MtimeNow), 9).Error);
        var owner = PermissionRules.ApplySetAttr(Owner, File(0), new SetAttrRequest(SetAttrMask.Mtime | SetAttrMask.Atime, Atime: 3, Mtime: 4), 9).Value;
        Assert.Equal((3L, 4L, 9L), (owner.Atime, owner.Mtime, owner.Ctime));
    }

    [Fact]
    public void Truncate_needs_write_permission_and_a_regular_file()
    {
        Assert.Equal(Errno.EACCES, PermissionRules.ApplySetAttr(Other, File(0x1A4), new SetAttrRequest(SetAttrMask.Size, Size: 0), 1).Error);
        Assert.Equal(Errno.EISDIR, PermissionRules.ApplySetAttr(Owner, File(0x1ED, FileType.Directory), new SetAttrRequest(SetAttrMask.Size), 1).Error);
        Assert.Equal(Errno.EINVAL, PermissionRules.ApplySetAttr(Owner, File(0x1ED, FileType.Fifo), new SetAttrRequest(SetAttrMask.Size), 1).Error);
        Assert.Equal(Errno.OK, PermissionRules.ApplySetAttr(Owner, File(0x1A4), new SetAttrRequest(SetAttrMask.Size, Size: 10), 1).Error);
    }

    [Fact]
    public void New_inodes_inherit_group_from_setgid_directories()
    {
        var setgidDir = new InodeAttr { Ino = 3, Type = FileType.Directory, Mode = 0x5FF, Uid = 0, Gid = 99 }; // 02777
        Assert.Equal((0x5EDu, 99u), PermissionRules.NewInodeOwnership(Other, setgidDir, FileType.Directory, 0x1ED));
        Assert.Equal((0x1A4u, 99u), PermissionRules.NewInodeOwnership(Other, setgidDir, FileType.Regular, 0x1A4));
        // Asking for setgid on a file of a group the caller is not in loses it.
        Assert.Equal((0x1EDu, 99u), PermissionRules.NewInodeOwnership(Other, setgidDir, FileType.Regular, 0x5ED));
        var plain = setgidDir with { Mode = 0x1FF };
        Assert.Equal((0x1A4u, 40u), PermissionRules.NewInodeOwnership(Other, plain, FileType.Regular, 0x1A4));
    }

    [Fact]
    public void Xattr_namespaces()
    {
        var file = File(0x1A4);
        Assert.Equal(Errno.OK, PermissionRules.CheckXattr(Other, file, "user.x", write: false));
        Assert.Equal(Errno.EACCES, PermissionRules.CheckXattr(Other, file, "user.x", write: true));
        Assert.Equal(Errno.EPERM, PermissionRules.CheckXattr(Owner, File(0x1FF, FileType.Symlink), "user.x", write: true));
        Assert.Equal(Errno.ENODATA, PermissionRules.CheckXattr(Owner, File(0x1FF, FileType.Symlink), "user.x", write: false));
        Assert.Equal(Errno.EPERM, PermissionRules.CheckXattr(Owner, file, "trusted.x", write: true));
        Assert.Equal(Errno.ENODATA, PermissionRules.CheckXattr(Owner, file, "trusted.x", write: false));
        Assert.Equal(Errno.OK, PermissionRules.CheckXattr(Caller.Root, file, "trusted.x", write: true));
        Assert.Equal(Errno.EOPNOTSUPP, NameRules.CheckXattrName("nonamespace"));
        Assert.Equal(Errno.EOPNOTSUPP, NameRules.CheckXattrName("system.posix_acl_access"));
        Assert.Equal(Errno.ERANGE, NameRules.CheckXattrName("user." + new string('a', 251)));
    }
}

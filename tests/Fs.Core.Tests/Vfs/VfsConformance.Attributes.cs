using System.Text;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>Attributes and permissions: setattr, access, open permission, setgid inheritance, xattrs, statfs.</summary>
public abstract partial class VfsConformance
{
    // ---- setattr: mode ----

    [Fact]
    public async Task Chmod_by_the_owner_changes_the_mode_and_bumps_ctime_only()
    {
        var file = await NewFileAsync(Root, "f", caller: Alice);
        await TickAsync();
        var changed = Ok(await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: Oct(4750))), "chmod");
        Assert.Equal(Oct(4750), changed.Mode);
        Assert.True(changed.Ctime > file.Ctime, "chmod bumps ctime");
        Assert.Equal(file.Mtime, changed.Mtime);
        Assert.Equal(changed, await AttrAsync(file.Ino));
    }

    [Fact]
    public async Task Chmod_by_anyone_but_the_owner_and_root_is_EPERM()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(666), caller: Alice);
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Bob, file.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: Oct(777))), "chmod by other user");
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Carol, file.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: Oct(777))), "chmod by group member");
        Assert.Equal(Oct(666), (await AttrAsync(file.Ino)).Mode);
        Assert.Equal(Oct(600), Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: Oct(600))), "chmod by root").Mode);
    }

    [Fact]
    public async Task Chmod_setgid_by_an_owner_outside_the_file_group_drops_the_setgid_bit()
    {
        var file = await NewFileAsync(Root, "f", caller: Alice);
        Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Gid, Gid: Bob.Gid)), "chgrp by root");
        var changed = Ok(await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: Oct(2755))), "chmod g+s");
        Assert.Equal(Oct(755), changed.Mode);
    }

    // ---- setattr: owner ----

    [Fact]
    public async Task Chown_rules()
    {
        var file = await NewFileAsync(Root, "f", caller: Alice);
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Uid, Uid: Bob.Uid)), "user gives file away");
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Gid, Gid: Bob.Gid)), "chgrp to a group the owner is not in");
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Bob, file.Ino, new SetAttrRequest(SetAttrMask.Gid, Gid: Bob.Gid)), "chgrp by non-owner");
        Ok(await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Uid | SetAttrMask.Gid, Uid: Alice.Uid, Gid: Alice.Gid)), "chown to own ids");

        var carols = await NewFileAsync(Root, "c", caller: Carol);
        var regrouped = Ok(await Fs.SetAttrAsync(Carol, carols.Ino, new SetAttrRequest(SetAttrMask.Gid, Gid: 1000)), "chgrp to a supplementary group");
        Assert.Equal(1000u, regrouped.Gid);

        var given = Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Uid | SetAttrMask.Gid, Uid: Bob.Uid, Gid: Bob.Gid)), "chown by root");
        Assert.Equal((Bob.Uid, Bob.Gid), (given.Uid, given.Gid));
        Assert.Equal((Bob.Uid, Bob.Gid), ((await AttrAsync(file.Ino)).Uid, (await AttrAsync(file.Ino)).Gid));
    }

    [Fact]
    public async Task Chown_clears_setuid_and_setgid()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(6755));
        await TickAsync();
        var byRoot = Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Uid, Uid: Alice.Uid)), "chown by root");
        Assert.Equal(Oct(755), byRoot.Mode);
        Assert.True(byRoot.Ctime > file.Ctime, "chown bumps ctime");

        var carols = await NewFileAsync(Root, "c", mode: Oct(6755), caller: Carol);
        var byOwner = Ok(await Fs.SetAttrAsync(Carol, carols.Ino, new SetAttrRequest(SetAttrMask.Gid, Gid: 1000)), "chgrp by owner");
        Assert.Equal(Oct(755), byOwner.Mode);
    }

    // ---- setattr: size ----

    [Fact]
    public async Task Truncate_down_and_up_keeps_the_prefix_and_reads_zeros_after_it()
    {
        var data = Pattern(200_000);
        var file = await NewFileAsync(Root, "f", data);
        await TickAsync();

        var shrunk = Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 100_001)), "truncate down");
        Assert.Equal(100_001L, shrunk.Size);
        Assert.True(shrunk.Mtime > file.Mtime, "truncate bumps mtime");
        Assert.True(shrunk.Ctime > file.Ctime, "truncate bumps ctime");
        Assert.Equal(data[..100_001], await ReadAllAsync(file.Ino));

        // Growing again must not bring back the bytes cut off before.
        var grown = Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 300_000)), "truncate up");
        Assert.Equal(300_000L, grown.Size);
        var content = await ReadAllAsync(file.Ino);
        Assert.Equal(300_000, content.Length);
        Assert.Equal(data[..100_001], content[..100_001]);
        AssertZeros(content.AsSpan(100_001), "after truncate down then up");

        Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 0)), "truncate to zero");
        Assert.Empty(await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Truncate_through_an_open_handle_is_seen_by_the_handle()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100_000));
        var handle = await OpenAsync(file.Ino);
        await WriteAsync(handle, 90_000, Pattern(20_000, 7));
        Ok(await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 50_000)), "truncate");
        Assert.Equal(Pattern(100_000)[..50_000], await ReadAsync(handle, 0, 200_000));
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(50_000L, (await AttrAsync(file.Ino)).Size);
        Assert.Equal(Pattern(100_000)[..50_000], await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Truncate_errors()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(644), caller: Alice);
        var dir = await MkdirAsync(Root, "d");
        Fails(Errno.EACCES, await Fs.SetAttrAsync(Bob, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 10)), "truncate without write permission");
        Fails(Errno.EISDIR, await Fs.SetAttrAsync(Caller.Root, dir.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 10)), "truncate a directory");
        Fails(Errno.EFBIG, await Fs.SetAttrAsync(Caller.Root, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: FsLimits.MaxFileSize + 1)), "truncate beyond the limit");
        Assert.Equal(0L, (await AttrAsync(file.Ino)).Size);
    }

    // ---- setattr: times ----

    [Fact]
    public async Task Owner_sets_explicit_times_to_the_nanosecond()
    {
        var file = await NewFileAsync(Root, "f", caller: Alice);
        const long atime = 1_000_000_000L * 1_500_000_000 + 123_456_789;
        const long mtime = 1_000_000_000L * 1_400_000_000 + 987_654_321;
        await TickAsync();
        var changed = Ok(await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Atime | SetAttrMask.Mtime, Atime: atime, Mtime: mtime)), "utimens");
        Assert.Equal(atime, changed.Atime);
        Assert.Equal(mtime, changed.Mtime);
        Assert.True(changed.Ctime > file.Ctime, "utimens bumps ctime");
        var stored = await AttrAsync(file.Ino);
        Assert.Equal((atime, mtime), (stored.Atime, stored.Mtime));
    }

    [Fact]
    public async Task Times_set_to_now_take_the_current_time()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(666), caller: Alice);
        Ok(await Fs.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Atime | SetAttrMask.Mtime, Atime: 1, Mtime: 1)), "set old times");
        var before = UnixTime.NowNanos();
        // Anyone with write permission may touch a file to now.
        var touched = Ok(await Fs.SetAttrAsync(Bob, file.Ino, new SetAttrRequest(SetAttrMask.AtimeNow | SetAttrMask.MtimeNow)), "touch by writer");
        Assert.InRange(touched.Atime, before - 1_000_000_000L, UnixTime.NowNanos() + 1_000_000_000L);
        Assert.InRange(touched.Mtime, before - 1_000_000_000L, UnixTime.NowNanos() + 1_000_000_000L);
    }

    [Fact]
    public async Task Times_permission_rules()
    {
        var writable = await NewFileAsync(Root, "w", mode: Oct(666), caller: Alice);
        var readOnly = await NewFileAsync(Root, "r", mode: Oct(644), caller: Alice);
        Fails(Errno.EPERM, await Fs.SetAttrAsync(Bob, writable.Ino, new SetAttrRequest(SetAttrMask.Mtime, Mtime: 5)), "explicit time by non-owner writer");
        Fails(Errno.EACCES, await Fs.SetAttrAsync(Bob, readOnly.Ino, new SetAttrRequest(SetAttrMask.AtimeNow | SetAttrMask.MtimeNow)), "touch without write permission");
        Ok(await Fs.SetAttrAsync(Caller.Root, readOnly.Ino, new SetAttrRequest(SetAttrMask.Mtime, Mtime: 5)), "explicit time by root");
        Assert.Equal(5L, (await AttrAsync(readOnly.Ino)).Mtime);
    }

    // ---- access ----

    [Fact]
    public async Task Access_checks_the_owner_group_and_other_classes()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(640), caller: Alice);

        Ok(await Fs.AccessAsync(Alice, file.Ino, AccessMode.Read | AccessMode.Write), "owner rw");
        Fails(Errno.EACCES, await Fs.AccessAsync(Alice, file.Ino, AccessMode.Execute), "owner x");
        Ok(await Fs.AccessAsync(Carol, file.Ino, AccessMode.Read), "supplementary group r");
        Fails(Errno.EACCES, await Fs.AccessAsync(Carol, file.Ino, AccessMode.Write), "group w");
        Fails(Errno.EACCES, await Fs.AccessAsync(Bob, file.Ino, AccessMode.Read), "other r");
        Ok(await Fs.AccessAsync(Bob, file.Ino, AccessMode.Exists), "existence needs no bits");
    }

    [Fact]
    public async Task Access_uses_only_the_first_matching_class()
    {
        // ext4 checks the owner bits alone for the owner and the group bits alone for members, even when "other" allows more.
        var ownerDenied = await NewFileAsync(Root, "o", mode: Oct(77), caller: Alice);
        Fails(Errno.EACCES, await Fs.AccessAsync(Alice, ownerDenied.Ino, AccessMode.Read), "owner with no owner bits");
        Ok(await Fs.AccessAsync(Bob, ownerDenied.Ino, AccessMode.Read), "other with other bits");

        var groupDenied = await NewFileAsync(Root, "g", mode: Oct(707), caller: Alice);
        Fails(Errno.EACCES, await Fs.AccessAsync(Carol, groupDenied.Ino, AccessMode.Read), "group member with no group bits");
        Ok(await Fs.AccessAsync(Bob, groupDenied.Ino, AccessMode.Read), "other with other bits");
    }

    [Fact]
    public async Task Access_for_root_needs_an_execute_bit_only_on_files()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(0), caller: Alice);
        var exec = await NewFileAsync(Root, "x", mode: Oct(1), caller: Alice);
        var dir = await MkdirAsync(Root, "d", Oct(0), Alice);
        Ok(await Fs.AccessAsync(Caller.Root, file.Ino, AccessMode.Read | AccessMode.Write), "root rw on mode 0");
        Fails(Errno.EACCES, await Fs.AccessAsync(Caller.Root, file.Ino, AccessMode.Execute), "root x on a file without x bits");
        Ok(await Fs.AccessAsync(Caller.Root, exec.Ino, AccessMode.Execute), "root x on a file with some x bit");
        Ok(await Fs.AccessAsync(Caller.Root, dir.Ino, AccessMode.Read | AccessMode.Write | AccessMode.Execute), "root rwx on a mode-0 directory");
    }

    // ---- open permission ----

    [Fact]
    public async Task Open_checks_permission_for_the_access_mode()
    {
        var secret = await NewFileAsync(Root, "secret", Pattern(10), Oct(600), Alice);
        var shared = await NewFileAsync(Root, "shared", Pattern(10), Oct(644), Alice);
        var frozen = await NewFileAsync(Root, "frozen", Pattern(10), Oct(444), Alice);

        Fails(Errno.EACCES, await Fs.OpenAsync(Bob, secret.Ino, OpenFlags.ReadOnly), "read 0600 as other");
        Fails(Errno.EACCES, await Fs.OpenAsync(Bob, shared.Ino, OpenFlags.WriteOnly), "write 0644 as other");
        Fails(Errno.EACCES, await Fs.OpenAsync(Bob, shared.Ino, OpenFlags.ReadWrite), "read-write 0644 as other");
        Fails(Errno.EACCES, await Fs.OpenAsync(Alice, frozen.Ino, OpenFlags.WriteOnly), "write 0444 as owner");
        Fails(Errno.EACCES, await Fs.OpenAsync(Bob, shared.Ino, OpenFlags.ReadOnly | OpenFlags.Truncate), "truncate 0644 as other");
        Assert.Equal(10L, (await AttrAsync(shared.Ino)).Size);

        var reader = Ok(await Fs.OpenAsync(Bob, shared.Ino, OpenFlags.ReadOnly), "read 0644 as other");
        Ok(await Fs.ReleaseAsync(reader), "release");
        var rootWriter = Ok(await Fs.OpenAsync(Caller.Root, frozen.Ino, OpenFlags.WriteOnly), "root writes 0444");
        Ok(await Fs.ReleaseAsync(rootWriter), "release");
    }

    [Fact]
    public async Task Open_of_a_directory_for_writing_is_EISDIR()
    {
        var dir = await MkdirAsync(Root, "d", Oct(777));
        Fails(Errno.EISDIR, await Fs.OpenAsync(Caller.Root, dir.Ino, OpenFlags.WriteOnly), "open dir for write");
        Fails(Errno.EISDIR, await Fs.OpenAsync(Caller.Root, dir.Ino, OpenFlags.ReadWrite), "open dir read-write");
    }

    // ---- setgid directories ----

    [Fact]
    public async Task Setgid_directory_passes_its_group_down_and_its_setgid_bit_to_subdirectories()
    {
        var shared = await MkdirAsync(Root, "shared", Oct(2777));
        Ok(await Fs.SetAttrAsync(Caller.Root, shared.Ino, new SetAttrRequest(SetAttrMask.Gid | SetAttrMask.Mode, Gid: 500, Mode: Oct(2777))), "chgrp shared");

        var file = await NewFileAsync(shared.Ino, "f", caller: Alice);
        Assert.Equal((Alice.Uid, 500u), (file.Uid, file.Gid));
        Assert.Equal(0u, file.Mode & InodeAttr.SetGid);

        var sub = await MkdirAsync(shared.Ino, "sub", Oct(777), Alice);
        Assert.Equal(500u, sub.Gid);
        Assert.Equal(InodeAttr.SetGid, sub.Mode & InodeAttr.SetGid);
        var deeper = await NewFileAsync(sub.Ino, "g", caller: Bob);
        Assert.Equal(500u, deeper.Gid);

        var fifo = Ok(await Fs.MknodAsync(Alice, shared.Ino, "p", FileType.Fifo, Oct(644)), "mknod in setgid dir");
        Assert.Equal(500u, fifo.Gid);

        var plain = await MkdirAsync(Root, "plain", Oct(777));
        Assert.Equal(Alice.Gid, (await NewFileAsync(plain.Ino, "f", caller: Alice)).Gid);
    }

    // ---- xattrs ----

    [Fact]
    public async Task Xattrs_set_get_list_and_remove()
    {
        var file = await NewFileAsync(Root, "f");
        var dir = await MkdirAsync(Root, "d");
        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.color", "blue"u8.ToArray()), "set user.color");
        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.empty", ReadOnlyMemory<byte>.Empty), "set empty value");
        Ok(await Fs.SetXattrAsync(Caller.Root, dir.Ino, "user.on-dir", new byte[] { 0, 1, 2, 255 }), "set on directory");

        Assert.Equal("blue"u8.ToArray(), Ok(await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.color"), "get"));
        Assert.Empty(Ok(await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.empty"), "get empty"));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, Ok(await Fs.GetXattrAsync(Caller.Root, dir.Ino, "user.on-dir"), "get binary"));
        Assert.Equal(new[] { "user.color", "user.empty" }, Ok(await Fs.ListXattrAsync(Caller.Root, file.Ino), "list").Order());

        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.color", "green"u8.ToArray()), "overwrite");
        Assert.Equal("green"u8.ToArray(), Ok(await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.color"), "get overwritten"));

        Ok(await Fs.RemoveXattrAsync(Caller.Root, file.Ino, "user.color"), "remove");
        Fails(Errno.ENODATA, await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.color"), "get removed");
        Assert.Equal(new[] { "user.empty" }, Ok(await Fs.ListXattrAsync(Caller.Root, file.Ino), "list after remove"));
        Assert.Empty(Ok(await Fs.ListXattrAsync(Caller.Root, (await NewFileAsync(Root, "bare")).Ino), "list of a file without xattrs"));
    }

    [Fact]
    public async Task Xattrs_of_many_inodes_come_in_one_call_as_listxattr_and_getxattr_would_show_them()
    {
        var dir = await MkdirAsync(Root, "d", Oct(777));
        var open = await NewFileAsync(dir.Ino, "open", mode: Oct(644), caller: Alice);
        var closed = await NewFileAsync(dir.Ino, "closed", mode: Oct(600), caller: Alice);
        var bare = await NewFileAsync(dir.Ino, "bare");
        var other = await NewFileAsync(dir.Ino, "other");
        Ok(await Fs.SetXattrAsync(Caller.Root, open.Ino, "user.dav.b", "2"u8.ToArray()), "set b");
        Ok(await Fs.SetXattrAsync(Caller.Root, open.Ino, "user.dav.a", "1"u8.ToArray()), "set a");
        Ok(await Fs.SetXattrAsync(Caller.Root, open.Ino, "user.color", "blue"u8.ToArray()), "set outside the prefix");
        Ok(await Fs.SetXattrAsync(Caller.Root, closed.Ino, "user.dav.secret", "s"u8.ToArray()), "set on the unreadable file");
        Ok(await Fs.SetXattrAsync(Caller.Root, other.Ino, "user.color", "red"u8.ToArray()), "set only outside the prefix");
        Ok(await Fs.SetXattrAsync(Caller.Root, dir.Ino, "trusted.dav.t", "t"u8.ToArray()), "set trusted");
        Ok(await Fs.SetXattrAsync(Caller.Root, dir.Ino, "user.dav.d", "d"u8.ToArray()), "set on the directory");

        var inodes = new[] { open, closed, bare, other, dir };
        static string Show(IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>> found, InodeAttr attr) =>
            found.TryGetValue(attr.Ino, out var xattrs)
                ? string.Join(' ', xattrs.Select(x => $"{x.Name}={(x.Value is null ? "(unreadable)" : Encoding.UTF8.GetString(x.Value))}"))
                : "(none)";

        // Root sees everything under the prefix, in name order; inodes with nothing under it are left out.
        var asRoot = Ok(await Fs.GetXattrsAsync(Caller.Root, inodes, "user.dav."), "root");
        Assert.Equal("user.dav.a=1 user.dav.b=2", Show(asRoot, open));
        Assert.Equal("user.dav.secret=s", Show(asRoot, closed));
        Assert.Equal("user.dav.d=d", Show(asRoot, dir));
        Assert.Equal(3, asRoot.Count);
        Assert.Equal("trusted.dav.t=t", Show(Ok(await Fs.GetXattrsAsync(Caller.Root, [dir], "trusted."), "root, trusted"), dir));

        // Bob may list the unreadable file's names but not read their values, and never sees trusted.*; each agrees
        // with what getxattr tells him one at a time.
        var asBob = Ok(await Fs.GetXattrsAsync(Bob, inodes, "user.dav."), "bob");
        Assert.Equal("user.dav.a=1 user.dav.b=2", Show(asBob, open));
        Assert.Equal("user.dav.secret=(unreadable)", Show(asBob, closed));
        Fails(Errno.EACCES, await Fs.GetXattrAsync(Bob, closed.Ino, "user.dav.secret"), "bob's getxattr on the unreadable file");
        Assert.Empty(Ok(await Fs.GetXattrsAsync(Bob, [dir], "trusted."), "bob, trusted"));

        Assert.Empty(Ok(await Fs.GetXattrsAsync(Caller.Root, [], "user."), "no inodes"));
        Ok(await Fs.UnlinkAsync(Caller.Root, dir.Ino, "open"), "unlink");
        Assert.Equal("(none)", Show(Ok(await Fs.GetXattrsAsync(Caller.Root, [open, closed], "user.dav."), "after unlink"), open));
    }

    [Fact]
    public async Task Xattr_create_and_replace_flags()
    {
        var file = await NewFileAsync(Root, "f");
        Fails(Errno.ENODATA, await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.a", "1"u8.ToArray(), XattrFlags.Replace), "replace missing");
        Fails(Errno.ENODATA, await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.a"), "failed replace created nothing");
        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.a", "1"u8.ToArray(), XattrFlags.Create), "create");
        Fails(Errno.EEXIST, await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.a", "2"u8.ToArray(), XattrFlags.Create), "create existing");
        Assert.Equal("1"u8.ToArray(), Ok(await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.a"), "value kept"));
        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.a", "3"u8.ToArray(), XattrFlags.Replace), "replace existing");
        Assert.Equal("3"u8.ToArray(), Ok(await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.a"), "value replaced"));
    }

    [Fact]
    public async Task Xattr_errors()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(644), caller: Alice);
        Fails(Errno.ENODATA, await Fs.GetXattrAsync(Caller.Root, file.Ino, "user.missing"), "get missing");
        Fails(Errno.ENODATA, await Fs.RemoveXattrAsync(Caller.Root, file.Ino, "user.missing"), "remove missing");
        Ok(await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.max", new byte[FsLimits.MaxXattrValueBytes]), "64 KiB value");
        Fails(Errno.E2BIG, await Fs.SetXattrAsync(Caller.Root, file.Ino, "user.big", new byte[FsLimits.MaxXattrValueBytes + 1]), "value over 64 KiB");
        Fails(Errno.EOPNOTSUPP, await Fs.SetXattrAsync(Caller.Root, file.Ino, "plain", "x"u8.ToArray()), "name without namespace");
        Fails(Errno.EOPNOTSUPP, await Fs.SetXattrAsync(Caller.Root, file.Ino, "bogus.name", "x"u8.ToArray()), "unknown namespace");
        Fails(Errno.EACCES, await Fs.SetXattrAsync(Bob, file.Ino, "user.x", "x"u8.ToArray()), "user xattr without write permission");
        Assert.Equal(new[] { "user.max" }, Ok(await Fs.ListXattrAsync(Caller.Root, file.Ino), "only the valid one was stored"));
    }

    // ---- statfs ----

    [Fact]
    public async Task StatFs_counts_inodes_as_they_come_and_go()
    {
        var before = Ok(await Fs.StatFsAsync(), "statfs");
        Assert.True(before.BlockSize > 0, "block size is reported");
        Assert.Equal(FsLimits.MaxNameBytes, before.MaxNameLength);
        Assert.InRange(before.AvailableBytes, 0, before.TotalBytes);

        var dir = await MkdirAsync(Root, "d");
        await NewFileAsync(dir.Ino, "f", Pattern(1000));
        Ok(await Fs.SymlinkAsync(Caller.Root, dir.Ino, "l", "f"), "symlink");
        var grown = Ok(await Fs.StatFsAsync(), "statfs after creates");
        Assert.Equal(before.UsedInodes + 3, grown.UsedInodes);

        Ok(await Fs.UnlinkAsync(Caller.Root, dir.Ino, "f"), "unlink");
        Ok(await Fs.UnlinkAsync(Caller.Root, dir.Ino, "l"), "unlink symlink");
        Ok(await Fs.RmdirAsync(Caller.Root, Root, "d"), "rmdir");
        Assert.Equal(before.UsedInodes, Ok(await Fs.StatFsAsync(), "statfs after removes").UsedInodes);
    }
}

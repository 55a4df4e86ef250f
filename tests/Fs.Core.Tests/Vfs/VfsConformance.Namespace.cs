using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>Names: lookup, mknod, create, mkdir/rmdir, unlink, rename, link, symlink and directory listings.</summary>
public abstract partial class VfsConformance
{
    // ---- lookup ----

    [Fact]
    public async Task Lookup_finds_names_and_resolves_dot_and_dotdot()
    {
        var dir = await MkdirAsync(Root, "d");
        var sub = await MkdirAsync(dir.Ino, "s");
        var file = await NewFileAsync(sub.Ino, "f");

        var found = await LookupAsync(Root, "d");
        Assert.Equal(dir.Ino, found.Ino);
        Assert.Equal(FileType.Directory, found.Type);
        var foundFile = await LookupAsync(sub.Ino, "f");
        Assert.Equal(file.Ino, foundFile.Ino);
        Assert.Equal(FileType.Regular, foundFile.Type);

        Assert.Equal(sub.Ino, (await LookupAsync(sub.Ino, ".")).Ino);
        Assert.Equal(dir.Ino, (await LookupAsync(sub.Ino, "..")).Ino);
        Assert.Equal(Root, (await LookupAsync(dir.Ino, "..")).Ino);
        Assert.Equal(Root, (await LookupAsync(Root, ".")).Ino);
        Assert.Equal(Root, (await LookupAsync(Root, "..")).Ino);
    }

    [Fact]
    public async Task Lookup_of_a_missing_name_is_ENOENT()
    {
        await MkdirAsync(Root, "d");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "nothing"), "lookup missing");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "D"), "names are case-sensitive");
    }

    [Fact]
    public async Task Lookup_under_a_file_is_ENOTDIR()
    {
        var file = await NewFileAsync(Root, "f");
        Fails(Errno.ENOTDIR, await Fs.LookupAsync(Caller.Root, file.Ino, "x"), "lookup under a file");
    }

    [Fact]
    public async Task Lookup_needs_search_permission_on_the_directory()
    {
        var dir = await MkdirAsync(Root, "private", Oct(700), Alice);
        await NewFileAsync(dir.Ino, "f", caller: Alice);
        Fails(Errno.EACCES, await Fs.LookupAsync(Bob, dir.Ino, "f"), "lookup by other user in 0700 dir");
        Ok(await Fs.LookupAsync(Alice, dir.Ino, "f"), "lookup by owner");
        Ok(await Fs.LookupAsync(Caller.Root, dir.Ino, "f"), "lookup by root");
    }

    [Fact]
    public async Task Names_longer_than_255_bytes_are_ENAMETOOLONG()
    {
        var longName = new string('n', FsLimits.MaxNameBytes + 1);
        Fails(Errno.ENAMETOOLONG, await Fs.MkdirAsync(Caller.Root, Root, longName, Oct(755)), "mkdir long name");
        Fails(Errno.ENAMETOOLONG, await Fs.LookupAsync(Caller.Root, Root, longName), "lookup long name");
        Ok(await Fs.MkdirAsync(Caller.Root, Root, new string('n', FsLimits.MaxNameBytes), Oct(755)), "mkdir 255-byte name");
    }

    // ---- getattr ----

    [Fact]
    public async Task GetAttr_of_the_root_is_a_directory_owned_by_root()
    {
        var root = await AttrAsync(Root);
        Assert.Equal(Root, root.Ino);
        Assert.Equal(FileType.Directory, root.Type);
        Assert.Equal(0u, root.Uid);
        Assert.Equal(0u, root.Gid);
        Assert.Equal(2u, root.Nlink);
        Assert.Equal(Oct(777), root.Mode);
    }

    [Fact]
    public async Task GetAttr_of_an_inode_that_never_existed_is_an_error()
    {
        var result = await Fs.GetAttrAsync(1UL << 40);
        Assert.True(result.Error is Errno.ESTALE or Errno.ENOENT, $"getattr of unknown inode: expected ESTALE or ENOENT, got {result}");
    }

    // ---- mknod ----

    [Theory]
    [InlineData(FileType.Fifo)]
    [InlineData(FileType.Socket)]
    [InlineData(FileType.Regular)]
    public async Task Mknod_creates_special_files_for_any_user(FileType type)
    {
        var attr = Ok(await Fs.MknodAsync(Alice, Root, "node", type, Oct(640)), $"mknod {type}");
        Assert.Equal(type, attr.Type);
        Assert.Equal(Oct(640), attr.Mode);
        Assert.Equal(Alice.Uid, attr.Uid);
        Assert.Equal(Alice.Gid, attr.Gid);
        Assert.Equal(1u, attr.Nlink);
        Assert.Equal(0L, attr.Size);
        var found = await LookupAsync(Root, "node");
        Assert.Equal(attr.Ino, found.Ino);
        Assert.Equal(type, found.Type);
    }

    [Theory]
    [InlineData(FileType.CharDevice, 0x0103u)]
    [InlineData(FileType.BlockDevice, 0x0801u)]
    public async Task Mknod_keeps_the_device_number(FileType type, uint rdev)
    {
        var attr = Ok(await Fs.MknodAsync(Caller.Root, Root, "dev", type, Oct(660), rdev), $"mknod {type}");
        Assert.Equal(type, attr.Type);
        Assert.Equal(rdev, attr.Rdev);
        Assert.Equal(rdev, (await AttrAsync(attr.Ino)).Rdev);
        Assert.Equal(rdev, (await LookupAsync(Root, "dev")).Rdev);
    }

    [Theory]
    [InlineData(FileType.CharDevice)]
    [InlineData(FileType.BlockDevice)]
    public async Task Mknod_of_a_device_by_a_user_is_EPERM(FileType type)
    {
        Fails(Errno.EPERM, await Fs.MknodAsync(Alice, Root, "dev", type, Oct(660), 0x0103), $"mknod {type} as user");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "dev"), "nothing was created");
    }

    [Fact]
    public async Task Mknod_over_an_existing_name_is_EEXIST()
    {
        await NewFileAsync(Root, "taken");
        Fails(Errno.EEXIST, await Fs.MknodAsync(Caller.Root, Root, "taken", FileType.Fifo, Oct(644)), "mknod existing");
    }

    // ---- create ----

    [Fact]
    public async Task Create_makes_an_empty_file_owned_by_the_caller()
    {
        var before = UnixTime.NowNanos();
        var (attr, handle) = Ok(await Fs.CreateAsync(Alice, Root, "f", Oct(640), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), "create");
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(FileType.Regular, attr.Type);
        Assert.Equal(Oct(640), attr.Mode);
        Assert.Equal((Alice.Uid, Alice.Gid), (attr.Uid, attr.Gid));
        Assert.Equal(1u, attr.Nlink);
        Assert.Equal(0L, attr.Size);
        Assert.Equal(attr.Ino, handle.Ino);
        // Allow for a coarse clock: the times must be "now", not zero or some default.
        Assert.InRange(attr.Mtime, before - 1_000_000_000L, UnixTime.NowNanos() + 1_000_000_000L);
        Assert.InRange(attr.Ctime, before - 1_000_000_000L, UnixTime.NowNanos() + 1_000_000_000L);
    }

    [Fact]
    public async Task Create_exclusive_over_an_existing_name_is_EEXIST()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100));
        Fails(Errno.EEXIST, await Fs.CreateAsync(Caller.Root, Root, "f", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), "exclusive create");
        Assert.Equal(Pattern(100), await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Create_without_exclusive_opens_the_existing_file()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100), Oct(600));
        var (attr, handle) = Ok(await Fs.CreateAsync(Caller.Root, Root, "f", Oct(777), OpenFlags.ReadWrite | OpenFlags.Create), "create existing");
        Assert.Equal(file.Ino, attr.Ino);
        Assert.Equal(Oct(600), attr.Mode);
        Assert.Equal(Pattern(100), await ReadAsync(handle, 0, 1000));
        Ok(await Fs.ReleaseAsync(handle), "release");
    }

    [Fact]
    public async Task Create_with_truncate_empties_the_existing_file()
    {
        var file = await NewFileAsync(Root, "f", Pattern(300_000));
        var (attr, handle) = Ok(await Fs.CreateAsync(Caller.Root, Root, "f", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Truncate), "create truncate");
        Assert.Equal(file.Ino, attr.Ino);
        Assert.Equal(0L, attr.Size);
        Assert.Empty(await ReadAsync(handle, 0, 1000));
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(0L, (await AttrAsync(file.Ino)).Size);
    }

    [Fact]
    public async Task Create_grants_the_requested_access_even_when_the_new_mode_denies_it()
    {
        // open(O_CREAT | O_RDWR, 0444) succeeds on Linux: the mode only governs later opens.
        var (attr, handle) = Ok(await Fs.CreateAsync(Alice, Root, "f", Oct(444), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), "create read-only file");
        await WriteAsync(handle, 0, Pattern(10));
        Assert.Equal(Pattern(10), await ReadAsync(handle, 0, 100));
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(Oct(444), (await AttrAsync(attr.Ino)).Mode);
        Fails(Errno.EACCES, await Fs.OpenAsync(Alice, attr.Ino, OpenFlags.WriteOnly), "later open for writing");
    }

    [Fact]
    public async Task Create_over_a_directory_is_EISDIR()
    {
        await MkdirAsync(Root, "d");
        Fails(Errno.EISDIR, await Fs.CreateAsync(Caller.Root, Root, "d", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create), "create over dir");
    }

    [Fact]
    public async Task Create_needs_write_permission_on_the_directory()
    {
        var dir = await MkdirAsync(Root, "ro", Oct(755));
        Fails(Errno.EACCES, await Fs.CreateAsync(Alice, dir.Ino, "f", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create), "create in 0755 root dir");
        Fails(Errno.EACCES, await Fs.MkdirAsync(Alice, dir.Ino, "d", Oct(755)), "mkdir in 0755 root dir");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, dir.Ino, "f"), "nothing was created");
    }

    [Fact]
    public async Task Create_under_a_file_is_ENOTDIR()
    {
        var file = await NewFileAsync(Root, "f");
        Fails(Errno.ENOTDIR, await Fs.CreateAsync(Caller.Root, file.Ino, "x", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create), "create under file");
    }

    // ---- mkdir / rmdir ----

    [Fact]
    public async Task Mkdir_counts_subdirectories_in_the_parent_link_count()
    {
        var parent = await MkdirAsync(Root, "p");
        Assert.Equal(2u, parent.Nlink);
        Assert.Equal(3u, (await AttrAsync(Root)).Nlink);

        for (var i = 0; i < 3; i++)
        {
            var child = await MkdirAsync(parent.Ino, $"c{i}");
            Assert.Equal(2u, child.Nlink);
            Assert.Equal(parent.Ino, child.Parent);
        }
        await NewFileAsync(parent.Ino, "file");
        Assert.Equal(5u, (await AttrAsync(parent.Ino)).Nlink);

        Ok(await Fs.RmdirAsync(Caller.Root, parent.Ino, "c1"), "rmdir");
        Assert.Equal(4u, (await AttrAsync(parent.Ino)).Nlink);
    }

    [Fact]
    public async Task Mkdir_over_an_existing_name_is_EEXIST()
    {
        await MkdirAsync(Root, "d");
        await NewFileAsync(Root, "f");
        Fails(Errno.EEXIST, await Fs.MkdirAsync(Caller.Root, Root, "d", Oct(755)), "mkdir over dir");
        Fails(Errno.EEXIST, await Fs.MkdirAsync(Caller.Root, Root, "f", Oct(755)), "mkdir over file");
    }

    [Fact]
    public async Task Rmdir_removes_an_empty_directory()
    {
        var dir = await MkdirAsync(Root, "d");
        Ok(await Fs.RmdirAsync(Caller.Root, Root, "d"), "rmdir");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "d"), "lookup after rmdir");
        Assert.False((await Fs.GetAttrAsync(dir.Ino)).Ok, "the removed directory's inode is gone");
        Assert.Equal(2u, (await AttrAsync(Root)).Nlink);
    }

    [Fact]
    public async Task Rmdir_errors()
    {
        var dir = await MkdirAsync(Root, "d");
        await NewFileAsync(dir.Ino, "inside");
        await NewFileAsync(Root, "f");
        Fails(Errno.ENOTEMPTY, await Fs.RmdirAsync(Caller.Root, Root, "d"), "rmdir non-empty");
        Fails(Errno.ENOTDIR, await Fs.RmdirAsync(Caller.Root, Root, "f"), "rmdir file");
        Fails(Errno.ENOENT, await Fs.RmdirAsync(Caller.Root, Root, "missing"), "rmdir missing");
        Fails(Errno.EINVAL, await Fs.RmdirAsync(Caller.Root, dir.Ino, "."), "rmdir .");
        Assert.Equal(dir.Ino, (await LookupAsync(Root, "d")).Ino);
    }

    [Fact]
    public async Task Rmdir_of_a_non_empty_directory_counts_subdirectories_too()
    {
        var dir = await MkdirAsync(Root, "d");
        await MkdirAsync(dir.Ino, "sub");
        Fails(Errno.ENOTEMPTY, await Fs.RmdirAsync(Caller.Root, Root, "d"), "rmdir dir holding a dir");
    }

    // ---- unlink ----

    [Fact]
    public async Task Unlink_removes_the_name_and_the_inode()
    {
        var file = await NewFileAsync(Root, "f", Pattern(10));
        Ok(await Fs.UnlinkAsync(Caller.Root, Root, "f"), "unlink");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "f"), "lookup after unlink");
        var gone = await Fs.GetAttrAsync(file.Ino);
        Assert.True(gone.Error is Errno.ESTALE or Errno.ENOENT, $"getattr of an unlinked closed file: expected ESTALE or ENOENT, got {gone}");
        Fails(Errno.ENOENT, await Fs.UnlinkAsync(Caller.Root, Root, "f"), "unlink again");
    }

    [Fact]
    public async Task Unlink_of_a_directory_is_EISDIR()
    {
        await MkdirAsync(Root, "d");
        Fails(Errno.EISDIR, await Fs.UnlinkAsync(Caller.Root, Root, "d"), "unlink dir");
        await LookupAsync(Root, "d");
    }

    [Fact]
    public async Task Unlink_needs_write_permission_on_the_directory()
    {
        var dir = await MkdirAsync(Root, "d", Oct(755));
        await NewFileAsync(dir.Ino, "f", mode: Oct(666));
        Fails(Errno.EACCES, await Fs.UnlinkAsync(Alice, dir.Ino, "f"), "unlink in 0755 root dir");
        await LookupAsync(dir.Ino, "f");
    }

    [Fact]
    public async Task Sticky_directory_lets_only_file_owner_dir_owner_and_root_remove()
    {
        var tmp = await MkdirAsync(Root, "tmp", Oct(1777), Carol);
        Assert.Equal(Oct(1777), tmp.Mode);
        await NewFileAsync(tmp.Ino, "a1", caller: Alice);
        await NewFileAsync(tmp.Ino, "a2", caller: Alice);
        await NewFileAsync(tmp.Ino, "b1", caller: Bob);

        Fails(Errno.EPERM, await Fs.UnlinkAsync(Bob, tmp.Ino, "a1"), "other user unlinks in sticky dir");
        Fails(Errno.EPERM, await Fs.RenameAsync(Bob, tmp.Ino, "a1", tmp.Ino, "stolen"), "other user renames in sticky dir");
        Fails(Errno.EPERM, await Fs.RenameAsync(Bob, tmp.Ino, "b1", tmp.Ino, "a1"), "other user replaces in sticky dir");
        Ok(await Fs.UnlinkAsync(Carol, tmp.Ino, "a1"), "directory owner unlinks");
        Ok(await Fs.UnlinkAsync(Alice, tmp.Ino, "a2"), "file owner unlinks");
        Ok(await Fs.UnlinkAsync(Caller.Root, tmp.Ino, "b1"), "root unlinks");
        Assert.Equal(2, (await ListAsync(tmp.Ino)).Count);
    }

    // ---- rename ----

    [Fact]
    public async Task Rename_moves_a_file_between_directories()
    {
        var a = await MkdirAsync(Root, "a");
        var b = await MkdirAsync(Root, "b");
        var file = await NewFileAsync(a.Ino, "f", Pattern(1000));
        Ok(await Fs.RenameAsync(Caller.Root, a.Ino, "f", b.Ino, "g"), "rename");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, a.Ino, "f"), "old name");
        Assert.Equal(file.Ino, (await LookupAsync(b.Ino, "g")).Ino);
        Assert.Equal(Pattern(1000), await ReadAllAsync(file.Ino));
        Assert.Equal(1u, (await AttrAsync(file.Ino)).Nlink);
    }

    [Fact]
    public async Task Rename_of_a_missing_name_is_ENOENT()
    {
        Fails(Errno.ENOENT, await Fs.RenameAsync(Caller.Root, Root, "missing", Root, "x"), "rename missing");
    }

    [Fact]
    public async Task Rename_over_a_file_replaces_it()
    {
        var source = await NewFileAsync(Root, "src", Pattern(500, 1));
        var target = await NewFileAsync(Root, "dst", Pattern(700, 2));
        Ok(await Fs.RenameAsync(Caller.Root, Root, "src", Root, "dst"), "rename over file");
        Assert.Equal(source.Ino, (await LookupAsync(Root, "dst")).Ino);
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "src"), "old name");
        Assert.Equal(Pattern(500, 1), await ReadAllAsync(source.Ino));
        Assert.False((await Fs.GetAttrAsync(target.Ino)).Ok, "the replaced file's inode is gone");
    }

    [Fact]
    public async Task Rename_over_a_file_with_other_links_keeps_the_replaced_inode()
    {
        await NewFileAsync(Root, "src", Pattern(10, 1));
        var target = await NewFileAsync(Root, "dst", Pattern(20, 2));
        Ok(await Fs.LinkAsync(Caller.Root, target.Ino, Root, "dst-link"), "link");
        Ok(await Fs.RenameAsync(Caller.Root, Root, "src", Root, "dst"), "rename over linked file");
        var survivor = await AttrAsync(target.Ino);
        Assert.Equal(1u, survivor.Nlink);
        Assert.Equal(Pattern(20, 2), await ReadAllAsync(target.Ino));
    }

    [Fact]
    public async Task Rename_of_a_directory_over_an_empty_directory_replaces_it()
    {
        var source = await MkdirAsync(Root, "src");
        await NewFileAsync(source.Ino, "inside");
        var target = await MkdirAsync(Root, "dst");
        Assert.Equal(4u, (await AttrAsync(Root)).Nlink);
        Ok(await Fs.RenameAsync(Caller.Root, Root, "src", Root, "dst"), "rename dir over empty dir");
        Assert.Equal(source.Ino, (await LookupAsync(Root, "dst")).Ino);
        await LookupAsync(source.Ino, "inside");
        Assert.Equal(3u, (await AttrAsync(Root)).Nlink);
        Assert.False((await Fs.GetAttrAsync(target.Ino)).Ok, "the replaced directory's inode is gone");
    }

    [Fact]
    public async Task Rename_of_a_directory_over_a_non_empty_directory_is_ENOTEMPTY()
    {
        await MkdirAsync(Root, "src");
        var target = await MkdirAsync(Root, "dst");
        await NewFileAsync(target.Ino, "inside");
        Fails(Errno.ENOTEMPTY, await Fs.RenameAsync(Caller.Root, Root, "src", Root, "dst"), "rename over non-empty dir");
        await LookupAsync(Root, "src");
        await LookupAsync(target.Ino, "inside");
    }

    [Fact]
    public async Task Rename_between_a_file_and_a_directory_is_EISDIR_or_ENOTDIR()
    {
        await MkdirAsync(Root, "d");
        await NewFileAsync(Root, "f");
        Fails(Errno.EISDIR, await Fs.RenameAsync(Caller.Root, Root, "f", Root, "d"), "file over dir");
        Fails(Errno.ENOTDIR, await Fs.RenameAsync(Caller.Root, Root, "d", Root, "f"), "dir over file");
        Assert.Equal(FileType.Directory, (await LookupAsync(Root, "d")).Type);
        Assert.Equal(FileType.Regular, (await LookupAsync(Root, "f")).Type);
    }

    [Fact]
    public async Task Rename_of_a_directory_into_its_own_subtree_is_EINVAL()
    {
        var d = await MkdirAsync(Root, "d");
        var s = await MkdirAsync(d.Ino, "s");
        Fails(Errno.EINVAL, await Fs.RenameAsync(Caller.Root, Root, "d", s.Ino, "x"), "rename into grandchild");
        Fails(Errno.EINVAL, await Fs.RenameAsync(Caller.Root, Root, "d", d.Ino, "x"), "rename into itself");
        Assert.Equal(d.Ino, (await LookupAsync(Root, "d")).Ino);
        Assert.Equal(Root, (await AttrAsync(d.Ino)).Parent);
    }

    [Fact]
    public async Task Rename_onto_an_ancestor_of_the_source_is_ENOTEMPTY()
    {
        // Linux refuses a target that contains the source before looking at types, so a file gets ENOTEMPTY, not EISDIR.
        var a = await MkdirAsync(Root, "a");
        var b = await MkdirAsync(a.Ino, "b");
        await NewFileAsync(b.Ino, "f");
        Fails(Errno.ENOTEMPTY, await Fs.RenameAsync(Caller.Root, b.Ino, "f", Root, "a"), "file onto its grandparent");
        Fails(Errno.ENOTEMPTY, await Fs.RenameAsync(Caller.Root, a.Ino, "b", Root, "a"), "directory onto its parent");
        Assert.Equal(b.Ino, (await LookupAsync(a.Ino, "b")).Ino);
        await LookupAsync(b.Ino, "f");
    }

    [Fact]
    public async Task Rename_onto_another_name_of_the_same_inode_does_nothing()
    {
        var file = await NewFileAsync(Root, "a", Pattern(10));
        Ok(await Fs.LinkAsync(Caller.Root, file.Ino, Root, "b"), "link");
        Ok(await Fs.RenameAsync(Caller.Root, Root, "a", Root, "b"), "rename onto own hard link");
        Assert.Equal(file.Ino, (await LookupAsync(Root, "a")).Ino);
        Assert.Equal(file.Ino, (await LookupAsync(Root, "b")).Ino);
        Assert.Equal(2u, (await AttrAsync(file.Ino)).Nlink);

        Ok(await Fs.RenameAsync(Caller.Root, Root, "a", Root, "a"), "rename onto itself");
        Assert.Equal(file.Ino, (await LookupAsync(Root, "a")).Ino);
    }

    [Fact]
    public async Task Rename_with_noreplace_refuses_an_existing_target()
    {
        var source = await NewFileAsync(Root, "src", Pattern(10, 1));
        var target = await NewFileAsync(Root, "dst", Pattern(10, 2));
        Fails(Errno.EEXIST, await Fs.RenameAsync(Caller.Root, Root, "src", Root, "dst", RenameFlags.NoReplace), "noreplace onto existing");
        Assert.Equal(source.Ino, (await LookupAsync(Root, "src")).Ino);
        Assert.Equal(target.Ino, (await LookupAsync(Root, "dst")).Ino);
        Ok(await Fs.RenameAsync(Caller.Root, Root, "src", Root, "new", RenameFlags.NoReplace), "noreplace onto free name");
        Assert.Equal(source.Ino, (await LookupAsync(Root, "new")).Ino);
    }

    [Fact]
    public async Task Rename_exchange_swaps_two_files()
    {
        var a = await NewFileAsync(Root, "a", Pattern(10, 1));
        var b = await NewFileAsync(Root, "b", Pattern(20, 2));
        Ok(await Fs.RenameAsync(Caller.Root, Root, "a", Root, "b", RenameFlags.Exchange), "exchange");
        Assert.Equal(b.Ino, (await LookupAsync(Root, "a")).Ino);
        Assert.Equal(a.Ino, (await LookupAsync(Root, "b")).Ino);
        Assert.Equal(Pattern(10, 1), await ReadAllAsync(a.Ino));
        Assert.Equal(1u, (await AttrAsync(a.Ino)).Nlink);
        Assert.Equal(1u, (await AttrAsync(b.Ino)).Nlink);
    }

    [Fact]
    public async Task Rename_exchange_swaps_a_directory_and_a_file_across_parents()
    {
        var p = await MkdirAsync(Root, "p");
        var q = await MkdirAsync(Root, "q");
        var dir = await MkdirAsync(p.Ino, "d");
        var file = await NewFileAsync(q.Ino, "f", Pattern(10));
        Assert.Equal(3u, (await AttrAsync(p.Ino)).Nlink);
        Assert.Equal(2u, (await AttrAsync(q.Ino)).Nlink);

        Ok(await Fs.RenameAsync(Caller.Root, p.Ino, "d", q.Ino, "f", RenameFlags.Exchange), "exchange dir and file");

        Assert.Equal(file.Ino, (await LookupAsync(p.Ino, "d")).Ino);
        Assert.Equal(dir.Ino, (await LookupAsync(q.Ino, "f")).Ino);
        Assert.Equal(2u, (await AttrAsync(p.Ino)).Nlink);
        Assert.Equal(3u, (await AttrAsync(q.Ino)).Nlink);
        Assert.Equal(q.Ino, (await LookupAsync(dir.Ino, "..")).Ino);
        Assert.Equal(q.Ino, (await AttrAsync(dir.Ino)).Parent);
    }

    [Fact]
    public async Task Rename_exchange_with_a_missing_target_is_ENOENT()
    {
        await NewFileAsync(Root, "a");
        Fails(Errno.ENOENT, await Fs.RenameAsync(Caller.Root, Root, "a", Root, "missing", RenameFlags.Exchange), "exchange with missing");
        await LookupAsync(Root, "a");
    }

    [Fact]
    public async Task Rename_of_a_directory_moves_its_parent_link_and_dotdot()
    {
        var p1 = await MkdirAsync(Root, "p1");
        var p2 = await MkdirAsync(Root, "p2");
        var d = await MkdirAsync(p1.Ino, "d");
        await NewFileAsync(d.Ino, "f", Pattern(10));
        Assert.Equal(3u, (await AttrAsync(p1.Ino)).Nlink);

        Ok(await Fs.RenameAsync(Caller.Root, p1.Ino, "d", p2.Ino, "moved"), "rename dir");

        Assert.Equal(2u, (await AttrAsync(p1.Ino)).Nlink);
        Assert.Equal(3u, (await AttrAsync(p2.Ino)).Nlink);
        Assert.Equal(2u, (await AttrAsync(d.Ino)).Nlink);
        Assert.Equal(p2.Ino, (await LookupAsync(d.Ino, "..")).Ino);
        Assert.Equal(p2.Ino, (await AttrAsync(d.Ino)).Parent);
        var listing = await ListAsync(d.Ino);
        Assert.Equal(p2.Ino, listing.Single(e => e.Name == "..").Ino);
        Assert.Equal(Pattern(10), await ReadAllAsync((await LookupAsync(d.Ino, "f")).Ino));
    }

    // ---- link ----

    [Fact]
    public async Task Link_adds_a_name_to_the_same_inode()
    {
        var dir = await MkdirAsync(Root, "d");
        var file = await NewFileAsync(Root, "f", Pattern(100));
        var linked = Ok(await Fs.LinkAsync(Caller.Root, file.Ino, dir.Ino, "g"), "link");
        Assert.Equal(file.Ino, linked.Ino);
        Assert.Equal(2u, linked.Nlink);
        Assert.Equal(2u, (await AttrAsync(file.Ino)).Nlink);
        Assert.Equal(file.Ino, (await LookupAsync(dir.Ino, "g")).Ino);

        var handle = await OpenAsync((await LookupAsync(dir.Ino, "g")).Ino);
        await WriteAsync(handle, 0, Pattern(50, 9));
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(Pattern(50, 9), (await ReadAllAsync((await LookupAsync(Root, "f")).Ino))[..50]);

        Ok(await Fs.UnlinkAsync(Caller.Root, Root, "f"), "unlink first name");
        Assert.Equal(1u, (await AttrAsync(file.Ino)).Nlink);
        Assert.Equal(100, (await ReadAllAsync(file.Ino)).Length);
    }

    [Fact]
    public async Task Link_errors()
    {
        var dir = await MkdirAsync(Root, "d");
        var file = await NewFileAsync(Root, "f");
        await NewFileAsync(Root, "taken");
        Fails(Errno.EPERM, await Fs.LinkAsync(Caller.Root, dir.Ino, Root, "dirlink"), "link a directory");
        Fails(Errno.EEXIST, await Fs.LinkAsync(Caller.Root, file.Ino, Root, "taken"), "link onto existing name");
        Fails(Errno.ENOTDIR, await Fs.LinkAsync(Caller.Root, file.Ino, file.Ino, "x"), "link under a file");
        Assert.Equal(1u, (await AttrAsync(file.Ino)).Nlink);
    }

    // ---- symlink ----

    [Fact]
    public async Task Symlink_stores_its_target()
    {
        const string target = "../some/where/else.txt";
        var link = Ok(await Fs.SymlinkAsync(Alice, Root, "l", target), "symlink");
        Assert.Equal(FileType.Symlink, link.Type);
        Assert.Equal(target.Length, link.Size);
        Assert.Equal(Alice.Uid, link.Uid);
        Assert.Equal(FileType.Symlink, (await LookupAsync(Root, "l")).Type);
        Assert.Equal(target, Ok(await Fs.ReadlinkAsync(link.Ino), "readlink"));

        const string unicode = "répertoire/файл";
        var other = Ok(await Fs.SymlinkAsync(Caller.Root, Root, "u", unicode), "symlink unicode");
        Assert.Equal(unicode, Ok(await Fs.ReadlinkAsync(other.Ino), "readlink unicode"));
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(unicode), other.Size);
    }

    [Fact]
    public async Task Symlink_errors()
    {
        var file = await NewFileAsync(Root, "f");
        Fails(Errno.EEXIST, await Fs.SymlinkAsync(Caller.Root, Root, "f", "x"), "symlink over existing");
        Fails(Errno.EINVAL, await Fs.ReadlinkAsync(file.Ino), "readlink of a regular file");
    }

    // ---- readdir ----

    [Fact]
    public async Task ReadDir_lists_dot_dotdot_and_every_entry_with_its_type()
    {
        var dir = await MkdirAsync(Root, "d");
        var expected = new Dictionary<string, (ulong Ino, FileType Type)>
        {
            ["file"] = ((await NewFileAsync(dir.Ino, "file")).Ino, FileType.Regular),
            ["sub"] = ((await MkdirAsync(dir.Ino, "sub")).Ino, FileType.Directory),
            ["link"] = (Ok(await Fs.SymlinkAsync(Caller.Root, dir.Ino, "link", "file"), "symlink").Ino, FileType.Symlink),
            ["fifo"] = (Ok(await Fs.MknodAsync(Caller.Root, dir.Ino, "fifo", FileType.Fifo, Oct(644)), "mknod").Ino, FileType.Fifo),
        };

        var entries = await ListAsync(dir.Ino);

        Assert.Equal(".", entries[0].Name);
        Assert.Equal(dir.Ino, entries[0].Ino);
        Assert.Equal(FileType.Directory, entries[0].Type);
        Assert.Equal("..", entries[1].Name);
        Assert.Equal(Root, entries[1].Ino);
        Assert.Equal(FileType.Directory, entries[1].Type);
        var rest = entries.Skip(2).ToDictionary(e => e.Name, e => (e.Ino, e.Type));
        Assert.Equal(expected.OrderBy(p => p.Key), rest.OrderBy(p => p.Key));
        Assert.Equal(entries.Count, entries.Select(e => e.Cookie).Distinct().Count());
    }

    [Fact]
    public async Task ReadDir_pages_resume_from_any_cookie()
    {
        var dir = await MkdirAsync(Root, "d");
        var names = Enumerable.Range(0, 37).Select(i => $"entry-{i:D3}").ToList();
        foreach (var name in names)
            Ok(await Fs.MknodAsync(Caller.Root, dir.Ino, name, FileType.Regular, Oct(644)), $"mknod {name}");

        var whole = await ListAsync(dir.Ino, pageSize: 1000);
        var paged = await ListAsync(dir.Ino, pageSize: 5);
        Assert.Equal(whole.Select(e => e.Name), paged.Select(e => e.Name));
        Assert.Equal(names.Order(), paged.Skip(2).Select(e => e.Name).Order());

        // Resuming from the cookie of any entry gives exactly what followed it in the full listing.
        foreach (var at in new[] { 0, 1, 2, 17, whole.Count - 2 })
        {
            var page = Ok(await Fs.ReadDirAsync(Caller.Root, dir.Ino, whole[at].Cookie, 1000), $"readdir after {whole[at].Name}");
            Assert.Equal(whole.Skip(at + 1).Select(e => e.Name), page.Entries.Select(e => e.Name));
            Assert.True(page.Eof, "the rest fits in one page");
        }

        var end = Ok(await Fs.ReadDirAsync(Caller.Root, dir.Ino, whole[^1].Cookie, 10), "readdir after the last entry");
        Assert.Empty(end.Entries);
        Assert.True(end.Eof);
    }

    [Fact]
    public async Task ReadDir_returns_every_unchanged_entry_exactly_once_while_the_directory_changes()
    {
        var dir = await MkdirAsync(Root, "d");
        var stable = Enumerable.Range(0, 1000).Select(i => $"keep-{i:D4}").ToList();
        var churn = new Queue<string>(Enumerable.Range(0, 200).Select(i => $"churn-{i:D4}"));
        foreach (var name in stable.Concat(churn))
            Ok(await Fs.MknodAsync(Caller.Root, dir.Ino, name, FileType.Regular, Oct(644)), $"mknod {name}");

        var everCreated = new HashSet<string>(stable.Concat(churn)) { ".", ".." };
        var seen = new List<string>();
        long cookie = 0;
        var added = 0;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 1000, "the listing must end");
            var page = Ok(await Fs.ReadDirAsync(Caller.Root, dir.Ino, cookie, 50), $"readdir after {cookie}");
            seen.AddRange(page.Entries.Select(e => e.Name));
            if (page.Eof)
                break;
            cookie = page.Entries[^1].Cookie;

            for (var i = 0; i < 5 && churn.Count > 0; i++)
                Ok(await Fs.UnlinkAsync(Caller.Root, dir.Ino, churn.Dequeue()), "unlink churn");
            for (var i = 0; i < 5; i++)
            {
                var name = $"new-{added++:D4}";
                everCreated.Add(name);
                Ok(await Fs.MknodAsync(Caller.Root, dir.Ino, name, FileType.Regular, Oct(644)), $"mknod {name}");
            }
        }

        var counts = seen.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        foreach (var name in stable)
            Assert.True(counts.GetValueOrDefault(name) == 1, $"{name} existed throughout and was returned {counts.GetValueOrDefault(name)} times");
        Assert.All(counts, c => Assert.True(c.Value == 1, $"{c.Key} returned {c.Value} times"));
        Assert.All(seen, name => Assert.Contains(name, everCreated));
    }

    [Fact]
    public async Task ReadDir_plus_carries_each_entry_attributes()
    {
        var dir = await MkdirAsync(Root, "d", Oct(777));
        var file = await NewFileAsync(dir.Ino, "file", Pattern(1234), caller: Alice);
        var sub = await MkdirAsync(dir.Ino, "sub", Oct(700));

        var entries = await ListAsync(dir.Ino, pageSize: 2, plus: true);

        var fileEntry = entries.Single(e => e.Name == "file");
        Assert.NotNull(fileEntry.Attr);
        Assert.Equal(file.Ino, fileEntry.Attr.Ino);
        Assert.Equal(1234L, fileEntry.Attr.Size);
        Assert.Equal(Alice.Uid, fileEntry.Attr.Uid);
        Assert.Equal(FileType.Regular, fileEntry.Attr.Type);
        var subEntry = entries.Single(e => e.Name == "sub");
        Assert.NotNull(subEntry.Attr);
        Assert.Equal(sub.Ino, subEntry.Attr.Ino);
        Assert.Equal(Oct(700), subEntry.Attr.Mode);
        Assert.Equal(FileType.Directory, subEntry.Attr.Type);
    }

    [Fact]
    public async Task ReadDir_errors()
    {
        var file = await NewFileAsync(Root, "f");
        var dir = await MkdirAsync(Root, "d", Oct(711));
        Fails(Errno.ENOTDIR, await Fs.ReadDirAsync(Caller.Root, file.Ino, 0, 10), "readdir of a file");
        Fails(Errno.EACCES, await Fs.ReadDirAsync(Alice, dir.Ino, 0, 10), "readdir without read permission");
        Ok(await Fs.ReadDirAsync(Caller.Root, dir.Ino, 0, 10), "readdir by root");
    }
}

using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

public class SqliteRenameTests : SqliteEngineTest
{
    private Task<Result<Fs.Core.Meta.RemovedInode?>> Rename(ulong parent, string name, ulong newParent, string newName,
        RenameFlags flags = RenameFlags.None, Caller? caller = null) =>
        Engine.RenameAsync(caller ?? Alice, parent, name, newParent, newName, flags, None).AsTask();

    [Fact]
    public async Task Moving_a_directory_updates_parents_link_counts_and_dotdot()
    {
        var a = await Mkdir(RootIno, "a");
        var b = await Mkdir(RootIno, "b");
        var sub = await Mkdir(a.Ino, "sub");
        await Task.Delay(2);
        Assert.True((await Rename(a.Ino, "sub", b.Ino, "moved")).Ok);
        Assert.Equal(2u, (await Attr(a.Ino)).Nlink);
        Assert.Equal(3u, (await Attr(b.Ino)).Nlink);
        var moved = await Attr(sub.Ino);
        Assert.Equal(b.Ino, moved.Parent);
        Assert.True(moved.Ctime > sub.Ctime);
        Assert.Equal(b.Ino, (await Engine.LookupAsync(Alice, sub.Ino, "..", None)).Value.Ino);
        Assert.Equal(Errno.ENOENT, await Lookup(a.Ino, "sub"));
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Replacing_a_file_deletes_the_old_one_and_reports_it()
    {
        var f = await CreateFile(RootIno, "f");
        var g = await CreateFile(RootIno, "g");
        var removed = (await Rename(RootIno, "f", RootIno, "g")).Value;
        Assert.NotNull(removed);
        Assert.Equal(g.Ino, removed.Attr.Ino);
        Assert.True(removed.Deleted);
        Assert.Equal(f.Ino, (await Engine.LookupAsync(Alice, RootIno, "g", None)).Value.Ino);
        Assert.Equal(["g"], await Names(RootIno));
    }

    [Fact]
    public async Task Type_and_emptiness_rules()
    {
        var d = await Mkdir(RootIno, "d");
        var full = await Mkdir(RootIno, "full");
        await CreateFile(full.Ino, "x");
        await CreateFile(RootIno, "f");
        await Mkdir(RootIno, "empty");
        Assert.Equal(Errno.ENOTDIR, (await Rename(RootIno, "d", RootIno, "f")).Error);
        Assert.Equal(Errno.EISDIR, (await Rename(RootIno, "f", RootIno, "d")).Error);
        Assert.Equal(Errno.ENOTEMPTY, (await Rename(RootIno, "d", RootIno, "full")).Error);
        Assert.Equal(Errno.EINVAL, (await Rename(RootIno, "d", d.Ino, "inside")).Error);
        var deep = await Mkdir(d.Ino, "deep");
        Assert.Equal(Errno.EINVAL, (await Rename(RootIno, "d", deep.Ino, "x")).Error);
        Assert.Equal(Errno.ENOENT, (await Rename(RootIno, "nope", RootIno, "x")).Error);
        Assert.Equal(Errno.EBUSY, (await Rename(d.Ino, ".", RootIno, "x")).Error);

        // Over an empty directory works and the victim is gone with its link from the parent.
        var rootLinks = (await Attr(RootIno)).Nlink;
        var removed = (await Rename(RootIno, "d", RootIno, "empty")).Value;
        Assert.True(removed!.Deleted);
        Assert.Equal(rootLinks - 1, (await Attr(RootIno)).Nlink);
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Same_inode_is_a_no_op()
    {
        var f = await CreateFile(RootIno, "f");
        await Engine.LinkAsync(Alice, f.Ino, RootIno, "g", None);
        Assert.Null((await Rename(RootIno, "f", RootIno, "g")).Value);
        Assert.Equal(["f", "g"], (await Names(RootIno)).Order());
        Assert.Equal(2u, (await Attr(f.Ino)).Nlink);
        Assert.Null((await Rename(RootIno, "f", RootIno, "f")).Value);
    }

    [Fact]
    public async Task Noreplace_and_exchange()
    {
        var f = await CreateFile(RootIno, "f");
        var dir = await Mkdir(RootIno, "d");
        var inner = await CreateFile(dir.Ino, "inner");
        Assert.Equal(Errno.EEXIST, (await Rename(RootIno, "f", dir.Ino, "inner", RenameFlags.NoReplace)).Error);
        Assert.Equal(Errno.ENOENT, (await Rename(RootIno, "f", dir.Ino, "missing", RenameFlags.Exchange)).Error);
        Assert.Equal(Errno.EINVAL, (await Rename(RootIno, "f", dir.Ino, "x", RenameFlags.Exchange | RenameFlags.NoReplace)).Error);

        // Exchange a directory and a file across directories: names swap, the directory's parent and link counts follow.
        var sub = await Mkdir(RootIno, "sub");
        Assert.True((await Rename(RootIno, "sub", dir.Ino, "inner", RenameFlags.Exchange)).Ok);
        Assert.Equal(sub.Ino, (await Engine.LookupAsync(Alice, dir.Ino, "inner", None)).Value.Ino);
        Assert.Equal(inner.Ino, (await Engine.LookupAsync(Alice, RootIno, "sub", None)).Value.Ino);
        Assert.Equal(dir.Ino, (await Attr(sub.Ino)).Parent);
        Assert.Equal(3u, (await Attr(dir.Ino)).Nlink);
        Assert.Equal(3u, (await Attr(RootIno)).Nlink); // only d left as a subdirectory of the root
        Assert.True((await Rename(RootIno, "f", RootIno, "new", RenameFlags.NoReplace)).Ok);
        Assert.Equal(f.Ino, (await Engine.LookupAsync(Alice, RootIno, "new", None)).Value.Ino);
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Sticky_and_write_permission_rules()
    {
        var tmp = await Mkdir(RootIno, "tmp", Root, 0x3FF); // 01777
        await CreateFile(tmp.Ino, "alices", Alice);
        await CreateFile(tmp.Ino, "bobs", Bob);
        Assert.Equal(Errno.EPERM, (await Rename(tmp.Ino, "alices", tmp.Ino, "stolen", caller: Bob)).Error);
        Assert.Equal(Errno.EPERM, (await Rename(tmp.Ino, "bobs", tmp.Ino, "alices", caller: Bob)).Error);
        Assert.True((await Rename(tmp.Ino, "bobs", tmp.Ino, "bobs2", caller: Bob)).Ok);
        Assert.True((await Rename(tmp.Ino, "alices", tmp.Ino, "x", caller: Root)).Ok);

        var locked = await Mkdir(RootIno, "locked", Alice, 0x1ED); // 0755, Bob cannot write
        await CreateFile(locked.Ino, "f", Alice);
        Assert.Equal(Errno.EACCES, (await Rename(locked.Ino, "f", RootIno, "g", caller: Bob)).Error);

        // Moving a directory to a new parent rewrites its "..": needs write permission on the directory itself.
        var bobsHome = await Mkdir(RootIno, "bobs", Bob, 0x1FF);
        await Mkdir(bobsHome.Ino, "readonly", Alice, 0x1ED);
        var elsewhere = await Mkdir(RootIno, "elsewhere", Bob, 0x1FF);
        Assert.Equal(Errno.EACCES, (await Rename(bobsHome.Ino, "readonly", elsewhere.Ino, "r", caller: Bob)).Error);
        Assert.True((await Rename(bobsHome.Ino, "readonly", bobsHome.Ino, "renamed-in-place", caller: Bob)).Ok);
    }
}

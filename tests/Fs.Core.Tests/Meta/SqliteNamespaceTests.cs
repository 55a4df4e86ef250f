using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

public class SqliteNamespaceTests : SqliteEngineTest
{
    [Fact]
    public async Task Format_creates_a_root_owned_by_root_and_refuses_a_second_format()
    {
        await using var engine = new Fs.Core.Meta.Sqlite.SqliteMetaEngine(Path.Combine(Dir, "other.db"));
        Assert.Null(await engine.LoadFormatAsync(None));
        var format = NewFormat();
        Assert.Equal(Errno.OK, await engine.FormatAsync(format, None));
        Assert.Equal(Errno.EEXIST, await engine.FormatAsync(NewFormat(), None));
        Assert.Equal(format.Uuid, (await engine.LoadFormatAsync(None))!.Uuid);
        var root = (await engine.GetAttrAsync(RootIno, None)).Value;
        Assert.Equal((FileType.Directory, 0x1FFu, 0u, 0u, 2u, RootIno), (root.Type, root.Mode, root.Uid, root.Gid, root.Nlink, root.Parent));
        Assert.Equal(new UsageCounters(0, 1), await engine.GetUsageAsync(None));
    }

    [Fact]
    public async Task Create_then_lookup_dot_and_dotdot()
    {
        var dir = await Mkdir(RootIno, "d");
        var file = await CreateFile(dir.Ino, "f");
        Assert.Equal(file.Ino, (await Engine.LookupAsync(Alice, dir.Ino, "f", None)).Value.Ino);
        Assert.Equal(dir.Ino, (await Engine.LookupAsync(Alice, dir.Ino, ".", None)).Value.Ino);
        Assert.Equal(RootIno, (await Engine.LookupAsync(Alice, dir.Ino, "..", None)).Value.Ino);
        Assert.Equal(RootIno, (await Engine.LookupAsync(Alice, RootIno, "..", None)).Value.Ino);
        Assert.Equal(Errno.ENOENT, await Lookup(dir.Ino, "missing"));
        Assert.Equal(Errno.ENOTDIR, await Lookup(file.Ino, "x"));
        Assert.Equal(Errno.EEXIST, (await Engine.MknodAsync(Alice, dir.Ino, "f", FileType.Regular, 0x1A4, 0, null, None)).Error);
        Assert.Equal(3u, (await Attr(RootIno)).Nlink); // 2 + one subdirectory
        Assert.Equal(2u, (await Attr(dir.Ino)).Nlink);
    }

    [Theory]
    [InlineData("", Errno.ENOENT)]
    [InlineData("a/b", Errno.EINVAL)]
    [InlineData("a\0b", Errno.EINVAL)]
    [InlineData(".", Errno.EEXIST)]
    [InlineData("..", Errno.EEXIST)]
    public async Task Bad_names_are_refused(string name, Errno expected) =>
        Assert.Equal(expected, (await Engine.MknodAsync(Alice, RootIno, name, FileType.Regular, 0x1A4, 0, null, None)).Error);

    [Fact]
    public async Task Names_are_limited_to_255_utf8_bytes()
    {
        Assert.True((await Engine.MknodAsync(Alice, RootIno, new string('a', 255), FileType.Regular, 0x1A4, 0, null, None)).Ok);
        Assert.Equal(Errno.ENAMETOOLONG, (await Engine.MknodAsync(Alice, RootIno, new string('a', 256), FileType.Regular, 0x1A4, 0, null, None)).Error);
        Assert.Equal(Errno.ENAMETOOLONG, (await Engine.MknodAsync(Alice, RootIno, new string('é', 128), FileType.Regular, 0x1A4, 0, null, None)).Error);
        Assert.Equal(Errno.ENAMETOOLONG, await Lookup(RootIno, new string('x', 300)));
    }

    [Fact]
    public async Task Symlink_stores_its_target_and_limits_it()
    {
        var link = (await Engine.MknodAsync(Alice, RootIno, "l", FileType.Symlink, 0x1FF, 0, "some/where", None)).Value;
        Assert.Equal("some/where", (await Engine.ReadlinkAsync(link.Ino, None)).Value);
        Assert.Equal(10, link.Size);
        Assert.Equal(Errno.ENAMETOOLONG, (await Engine.MknodAsync(Alice, RootIno, "m", FileType.Symlink, 0x1FF, 0, new string('t', 4097), None)).Error);
        var file = await CreateFile(RootIno, "f");
        Assert.Equal(Errno.EINVAL, (await Engine.ReadlinkAsync(file.Ino, None)).Error);
    }

    [Fact]
    public async Task Parent_times_and_nlink_follow_entry_changes()
    {
        var dir = await Mkdir(RootIno, "d");
        var before = await Attr(dir.Ino);
        await Task.Delay(2);
        await Mkdir(dir.Ino, "sub");
        var afterMkdir = await Attr(dir.Ino);
        Assert.Equal(3u, afterMkdir.Nlink);
        Assert.True(afterMkdir.Mtime > before.Mtime && afterMkdir.Ctime > before.Ctime);
        Assert.Equal(Errno.OK, await Engine.RmdirAsync(Alice, dir.Ino, "sub", None));
        Assert.Equal(2u, (await Attr(dir.Ino)).Nlink);
    }

    [Fact]
    public async Task Unlink_and_rmdir_errors_are_those_of_linux()
    {
        var dir = await Mkdir(RootIno, "d");
        var file = await CreateFile(dir.Ino, "f");
        Assert.Equal(Errno.EISDIR, (await Engine.UnlinkAsync(Alice, RootIno, "d", None)).Error);
        Assert.Equal(Errno.ENOTDIR, await Engine.RmdirAsync(Alice, dir.Ino, "f", None));
        Assert.Equal(Errno.ENOTEMPTY, await Engine.RmdirAsync(Alice, RootIno, "d", None));
        Assert.Equal(Errno.EINVAL, await Engine.RmdirAsync(Alice, dir.Ino, ".", None));
        Assert.Equal(Errno.ENOTEMPTY, await Engine.RmdirAsync(Alice, dir.Ino, "..", None));
        Assert.Equal(Errno.ENOENT, (await Engine.UnlinkAsync(Alice, dir.Ino, "nope", None)).Error);
        var removed = (await Engine.UnlinkAsync(Alice, dir.Ino, "f", None)).Value;
        Assert.True(removed.Deleted);
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(file.Ino, None)).Error);
        Assert.Equal(Errno.OK, await Engine.RmdirAsync(Alice, RootIno, "d", None));
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(dir.Ino, None)).Error);
        Assert.Equal(new UsageCounters(0, 1), await Engine.GetUsageAsync(None));
    }

    [Fact]
    public async Task Hard_links_count_names()
    {
        var dir = await Mkdir(RootIno, "d");
        var file = await CreateFile(RootIno, "f");
        var linked = (await Engine.LinkAsync(Alice, file.Ino, dir.Ino, "g", None)).Value;
        Assert.Equal(2u, linked.Nlink);
        Assert.Equal(Errno.EEXIST, (await Engine.LinkAsync(Alice, file.Ino, dir.Ino, "g", None)).Error);
        Assert.Equal(Errno.EPERM, (await Engine.LinkAsync(Alice, dir.Ino, RootIno, "dirlink", None)).Error);
        var removed = (await Engine.UnlinkAsync(Alice, RootIno, "f", None)).Value;
        Assert.False(removed.Deleted);
        Assert.Equal(1u, (await Attr(file.Ino)).Nlink);
        Assert.True((await Engine.UnlinkAsync(Alice, dir.Ino, "g", None)).Value.Deleted);
    }

    [Fact]
    public async Task Readdir_cookies_stay_valid_while_entries_come_and_go()
    {
        var dir = await Mkdir(RootIno, "d");
        for (var i = 0; i < 10; i++)
            await CreateFile(dir.Ino, $"f{i}");
        var page = (await Engine.ReadDirAsync(Alice, dir.Ino, 0, 4, false, None)).Value;
        Assert.Equal(["f0", "f1", "f2", "f3"], page.Select(e => e.Name));
        Assert.True(page.Zip(page.Skip(1)).All(p => p.First.Cookie < p.Second.Cookie));

        // Remove an entry already returned and one not yet returned, add a new one: resuming neither repeats nor skips survivors.
        await Engine.UnlinkAsync(Alice, dir.Ino, "f1", None);
        await Engine.UnlinkAsync(Alice, dir.Ino, "f6", None);
        await CreateFile(dir.Ino, "new");
        var rest = (await Engine.ReadDirAsync(Alice, dir.Ino, page[^1].Cookie, 100, true, None)).Value;
        Assert.Equal(["f4", "f5", "f7", "f8", "f9", "new"], rest.Select(e => e.Name));
        Assert.All(rest, e => Assert.Equal(e.Ino, e.Attr!.Ino));

        // A renamed entry gets a new cookie and so shows up after the resume point in its new place.
        await Engine.RenameAsync(Alice, dir.Ino, "f0", dir.Ino, "renamed", RenameFlags.None, None);
        var after = (await Engine.ReadDirAsync(Alice, dir.Ino, rest[^1].Cookie, 100, false, None)).Value;
        Assert.Equal(["renamed"], after.Select(e => e.Name));
    }

    [Fact]
    public async Task Readdir_needs_read_permission_and_a_directory()
    {
        var dir = await Mkdir(RootIno, "private", Alice, 0x1C0); // 0700
        Assert.Equal(Errno.EACCES, (await Engine.ReadDirAsync(Bob, dir.Ino, 0, 10, false, None)).Error);
        var file = await CreateFile(RootIno, "f");
        Assert.Equal(Errno.ENOTDIR, (await Engine.ReadDirAsync(Alice, file.Ino, 0, 10, false, None)).Error);
    }

    [Fact]
    public async Task Inode_numbers_are_never_reused_even_across_reopen()
    {
        var first = await CreateFile(RootIno, "a");
        await Engine.UnlinkAsync(Alice, RootIno, "a", None);
        await ReopenAsync();
        var second = await CreateFile(RootIno, "b");
        Assert.True(second.Ino > first.Ino);
    }

    [Fact]
    public async Task Check_finds_nothing_wrong_after_ordinary_work_and_repairs_damage()
    {
        var dir = await Mkdir(RootIno, "d");
        var file = await CreateFile(dir.Ino, "f");
        await Write(file.Ino, 0, 5000);
        await Engine.LinkAsync(Alice, file.Ino, RootIno, "g", None);
        await Mkdir(dir.Ino, "s");
        Assert.Empty(await Engine.CheckAsync(repair: false, None));

        await using (var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await raw.OpenAsync();
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = $"UPDATE inodes SET nlink = 7 WHERE ino = {file.Ino}; UPDATE slice_refs SET refs = 9; "
                + "INSERT INTO dentries VALUES (1, 'ghost', 99999, 1, 999999); UPDATE counters SET value = 5 WHERE name = 'used_inodes';";
            await cmd.ExecuteNonQueryAsync();
        }
        var issues = await Engine.CheckAsync(repair: true, None);
        Assert.Contains(issues, i => i.Kind == "nlink" && i.Ino == file.Ino);
        Assert.Contains(issues, i => i.Kind == "slice-refs");
        Assert.Contains(issues, i => i.Kind == "dangling-entry");
        Assert.Contains(issues, i => i.Kind == "counter");
        Assert.Empty(await Engine.CheckAsync(repair: false, None));
        Assert.Equal(2u, (await Attr(file.Ino)).Nlink);
    }
}

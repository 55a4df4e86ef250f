using Fs.Core.Locks;
using Fs.Core.Meta;
using Fs.Core.Meta.Sqlite;
using Fs.Core.Vfs;
using Microsoft.Data.Sqlite;

namespace Fs.Core.Tests.Meta;

public class SqliteSessionTests : SqliteEngineTest
{
    [Fact]
    public async Task File_unlinked_while_open_lives_until_the_last_close()
    {
        var session = await Engine.RegisterSessionAsync("host", 1, "v", "nfs", None);
        var f = await CreateFile(RootIno, "f");
        var slice = await Write(f.Ino, 0, 100);
        _ = (await Engine.OpenAsync(Alice, session, f.Ino, OpenFlags.ReadWrite, None)).Value;
        _ = (await Engine.OpenAsync(Alice, session, f.Ino, OpenFlags.ReadOnly, None)).Value;
        var removed = (await Engine.UnlinkAsync(Alice, RootIno, "f", None)).Value;
        Assert.False(removed.Deleted);
        Assert.Equal(0u, removed.Attr.Nlink);
        Assert.Equal(0u, (await Attr(f.Ino)).Nlink);
        Assert.Equal([slice], (await Engine.ReadChunkAsync(f.Ino, 0, None)).Value);
        Assert.Empty(await Engine.CheckAsync(false, None));

        await Engine.CloseAsync(session, f.Ino, None);
        Assert.True((await Engine.GetAttrAsync(f.Ino, None)).Ok); // one open left
        await Engine.CloseAsync(session, f.Ino, None);
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(f.Ino, None)).Error);
        Assert.Equal([slice.Id], await Pending());
        Assert.Equal(new UsageCounters(0, 1), await Engine.GetUsageAsync(None));
    }

    [Fact]
    public async Task Create_opens_the_new_file_for_its_creator_whatever_its_mode()
    {
        var session = await Engine.RegisterSessionAsync("host", 1, "v", "nfs", None);
        var f = (await Engine.CreateAsync(Alice, session, RootIno, "f", 0, None)).Value;
        Assert.Equal(Errno.EEXIST, (await Engine.CreateAsync(Alice, session, RootIno, "f", 0x1A4, None)).Error);
        Assert.Equal(Errno.ENOTDIR, (await Engine.CreateAsync(Alice, session, f.Ino, "g", 0x1A4, None)).Error);
        var dir = await Mkdir(RootIno, "d");
        Assert.Equal(Errno.EACCES, (await Engine.CreateAsync(Bob, session, dir.Ino, "g", 0x1A4, None)).Error);
        Assert.False((await Engine.UnlinkAsync(Alice, RootIno, "f", None)).Value.Deleted); // open since its creation
        await Engine.CloseAsync(session, f.Ino, None);
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(f.Ino, None)).Error);
        Assert.Equal(new UsageCounters(0, 2), await Engine.GetUsageAsync(None));
    }

    [Fact]
    public async Task Open_checks_permission_by_access_mode()
    {
        var session = await Engine.RegisterSessionAsync("host", 1, "v", "nfs", None);
        var f = await CreateFile(RootIno, "f", Alice, 0x1A4);
        Assert.True((await Engine.OpenAsync(Bob, session, f.Ino, OpenFlags.ReadOnly, None)).Ok);
        Assert.Equal(Errno.EACCES, (await Engine.OpenAsync(Bob, session, f.Ino, OpenFlags.WriteOnly, None)).Error);
        Assert.Equal(Errno.EACCES, (await Engine.OpenAsync(Bob, session, f.Ino, OpenFlags.ReadOnly | OpenFlags.Truncate, None)).Error);
        Assert.Equal(Errno.EISDIR, (await Engine.OpenAsync(Alice, session, RootIno, OpenFlags.ReadWrite, None)).Error);
        Assert.True((await Engine.OpenAsync(Alice, session, RootIno, OpenFlags.ReadOnly, None)).Ok);
    }

    [Fact]
    public async Task A_session_lists_the_doors_recorded_after_it_registered_and_a_closed_one_stays_closed()
    {
        var first = await Engine.RegisterSessionAsync("a", 1, "v", "", None);
        var second = await Engine.RegisterSessionAsync("b", 2, "v", "", None);
        await Engine.SetSessionDoorsAsync(second, "nfs on 127.0.0.1:2049, fuse at /mnt", None);
        Assert.Equal(["", "nfs on 127.0.0.1:2049, fuse at /mnt"], (await Engine.ListSessionsAsync(None)).Select(s => s.Doors));

        await Engine.CloseSessionAsync(first, None);
        await Engine.SetSessionDoorsAsync(first, "webdav on http://127.0.0.1:8080/", None);
        Assert.Equal([second], (await Engine.ListSessionsAsync(None)).Select(s => s.Id));
    }

    [Fact]
    public async Task Stale_session_cleanup_releases_its_locks_and_deletes_its_unlinked_files()
    {
        var live = await Engine.RegisterSessionAsync("a", 1, "v", "nfs", None);
        var dead = await Engine.RegisterSessionAsync("b", 2, "v", "fuse", None);
        var f = await CreateFile(RootIno, "f");
        var g = await CreateFile(RootIno, "g");
        await Engine.OpenAsync(Alice, dead, f.Ino, OpenFlags.ReadOnly, None);
        await Engine.OpenAsync(Alice, dead, g.Ino, OpenFlags.ReadOnly, None);
        await Engine.OpenAsync(Alice, live, g.Ino, OpenFlags.ReadOnly, None);
        await Engine.UnlinkAsync(Alice, RootIno, "f", None);
        await Engine.UnlinkAsync(Alice, RootIno, "g", None);
        var deadLock = new LockRecord(LockKind.Posix, LockMode.Exclusive, new LockOwner(dead, LockDoor.Fuse, "c", 7), 0, 10);
        var liveLock = new LockRecord(LockKind.Posix, LockMode.Shared, new LockOwner(live, LockDoor.Nfs, "d", 8), 20, 30);
        Assert.Equal(2, await Engine.UpdateLocksAsync(RootIno, current => ((IReadOnlyList<LockRecord>?)[.. current, deadLock, liveLock], current.Count + 2), None));

        await using (var raw = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await raw.OpenAsync();
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = $"UPDATE sessions SET heartbeat = 0 WHERE id = {dead}";
            await cmd.ExecuteNonQueryAsync();
        }
        await Engine.HeartbeatAsync(live, None);
        Assert.Equal([dead], await Engine.CleanStaleSessionsAsync(TimeSpan.FromMinutes(1), None));

        Assert.Equal([live], (await Engine.ListSessionsAsync(None)).Select(s => s.Id));
        Assert.Equal([(RootIno, liveLock)], await Engine.ListLocksAsync(None));
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(f.Ino, None)).Error); // only the dead session had it open
        Assert.True((await Engine.GetAttrAsync(g.Ino, None)).Ok); // the live session still has it
        await Engine.CloseSessionAsync(live, None);
        Assert.Equal(Errno.ENOENT, (await Engine.GetAttrAsync(g.Ino, None)).Error);
        Assert.Empty(await Engine.ListLocksAsync(None));
    }

    [Fact]
    public async Task A_session_whose_process_is_gone_is_closed_at_once_and_a_live_one_is_kept()
    {
        var f = await CreateFile(RootIno, "f");
        long crashed, alive;
        await using (var other = new SqliteMetaEngine(DbPath))
        {
            crashed = await other.RegisterSessionAsync("h", 2, "v", "nfs", None);
            var held = new LockRecord(LockKind.Posix, LockMode.Exclusive, new LockOwner(crashed, LockDoor.Nfs, "client", 7), 0, 0);
            await other.UpdateLocksAsync(f.Ino, current => ((IReadOnlyList<LockRecord>?)[.. current, held], true), None);
            await using var third = new SqliteMetaEngine(DbPath);
            alive = await third.RegisterSessionAsync("h", 3, "v", "fuse", None);
            // Both sessions beat just now, and both processes' locks are held: nothing to clean.
            Assert.Empty(await Engine.CleanStaleSessionsAsync(TimeSpan.FromMinutes(10), None));

            // Disposing an engine without closing its session lets go of its liveness lock, as a SIGKILL would.
            await other.DisposeAsync();
            Assert.Equal([crashed], await Engine.CleanStaleSessionsAsync(TimeSpan.FromMinutes(10), None));
            Assert.Equal([alive], (await Engine.ListSessionsAsync(None)).Select(s => s.Id));
            Assert.Empty(await Engine.ListLocksAsync(None));
            Assert.Empty(await Engine.CleanStaleSessionsAsync(TimeSpan.FromMinutes(10), None));
            await third.CloseSessionAsync(alive, None);
        }
        Assert.Empty(await Engine.ListSessionsAsync(None));
        Assert.Empty(Directory.EnumerateFiles(DbPath + "-sessions"));
    }

    [Fact]
    public async Task Lock_update_returning_null_leaves_locks_alone()
    {
        var record = new LockRecord(LockKind.WebDav, LockMode.Exclusive, new LockOwner(1, LockDoor.WebDav, "c", 1), Token: "opaquelocktoken:x", Info: "<owner/>");
        await Engine.UpdateLocksAsync(RootIno, _ => ((IReadOnlyList<LockRecord>?)[record], true), None);
        var seen = await Engine.UpdateLocksAsync(RootIno, current => ((IReadOnlyList<LockRecord>?)null, current), None);
        Assert.Equal([record], seen);
        Assert.Equal([(RootIno, record)], await Engine.ListLocksAsync(None));
    }

    [Fact]
    public async Task Xattr_flags_and_limits()
    {
        var f = await CreateFile(RootIno, "f");
        Assert.Equal(Errno.ENODATA, (await Engine.GetXattrAsync(Alice, f.Ino, "user.a", None)).Error);
        Assert.Equal(Errno.ENODATA, await Engine.SetXattrAsync(Alice, f.Ino, "user.a", new byte[] { 1 }, XattrFlags.Replace, None));
        Assert.Equal(Errno.OK, await Engine.SetXattrAsync(Alice, f.Ino, "user.a", new byte[] { 1 }, XattrFlags.Create, None));
        Assert.Equal(Errno.EEXIST, await Engine.SetXattrAsync(Alice, f.Ino, "user.a", new byte[] { 2 }, XattrFlags.Create, None));
        Assert.Equal(Errno.OK, await Engine.SetXattrAsync(Alice, f.Ino, "user.a", new byte[] { 3, 4 }, XattrFlags.Replace, None));
        Assert.Equal(new byte[] { 3, 4 }, (await Engine.GetXattrAsync(Bob, f.Ino, "user.a", None)).Value);
        Assert.Equal(Errno.EACCES, await Engine.SetXattrAsync(Bob, f.Ino, "user.b", new byte[] { 1 }, XattrFlags.None, None));
        Assert.Equal(Errno.E2BIG, await Engine.SetXattrAsync(Alice, f.Ino, "user.big", new byte[65537], XattrFlags.None, None));
        Assert.Equal(Errno.OK, await Engine.SetXattrAsync(Alice, f.Ino, "user.max", new byte[65536], XattrFlags.None, None));
        Assert.Equal(Errno.EOPNOTSUPP, await Engine.SetXattrAsync(Alice, f.Ino, "plain", new byte[1], XattrFlags.None, None));
        Assert.Equal(Errno.OK, await Engine.SetXattrAsync(Root, f.Ino, "trusted.t", new byte[1], XattrFlags.None, None));
        Assert.Equal(["user.a", "user.max"], (await Engine.ListXattrAsync(Alice, f.Ino, None)).Value);
        Assert.Equal(["trusted.t", "user.a", "user.max"], (await Engine.ListXattrAsync(Root, f.Ino, None)).Value);
        Assert.Equal(Errno.OK, await Engine.RemoveXattrAsync(Alice, f.Ino, "user.a", None));
        Assert.Equal(Errno.ENODATA, await Engine.RemoveXattrAsync(Alice, f.Ino, "user.a", None));
        var link = (await Engine.MknodAsync(Alice, RootIno, "l", FileType.Symlink, 0x1FF, 0, "f", None)).Value;
        Assert.Equal(Errno.EPERM, await Engine.SetXattrAsync(Alice, link.Ino, "user.a", new byte[1], XattrFlags.None, None));
    }

    [Fact]
    public async Task Durable_write_is_seen_by_a_new_engine_on_the_same_file()
    {
        var f = await CreateFile(RootIno, "f");
        var id = await Engine.NewSliceIdAsync(None);
        var slice = new Slice(id, 4096, 0, 4096, 0);
        _ = (await Engine.WriteChunkAsync(f.Ino, 0, slice, 123, durable: true, None)).Value;
        await using (var second = new SqliteMetaEngine(DbPath))
        {
            Assert.Equal(4096, (await second.GetAttrAsync(f.Ino, None)).Value.Size);
            Assert.Equal([slice], (await second.ReadChunkAsync(f.Ino, 0, None)).Value);
        }
        await Engine.SyncAsync(None);
        await ReopenAsync();
        Assert.Equal(123, (await Attr(f.Ino)).Mtime);
    }

    [Fact]
    public async Task Newer_schema_version_is_refused()
    {
        await Engine.DisposeAsync();
        await using (var raw = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await raw.OpenAsync();
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 99";
            await cmd.ExecuteNonQueryAsync();
        }
        var e = Assert.Throws<VolumeException>(() => new SqliteMetaEngine(DbPath));
        Assert.Contains("99", e.Message);
        await using (var raw = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await raw.OpenAsync();
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version = {SqliteSchema.Version}";
            await cmd.ExecuteNonQueryAsync();
        }
        await ReopenAsync();
    }

    [Fact]
    public async Task A_version_1_database_is_upgraded_in_place_and_keeps_its_volume()
    {
        var file = (await Engine.MknodAsync(Root, RootIno, "kept", FileType.Regular, 0x1A4, 0, null, None)).Value;
        await Engine.DisposeAsync();
        await using (var raw = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await raw.OpenAsync();
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = "DROP TABLE leases; PRAGMA user_version = 1";
            await cmd.ExecuteNonQueryAsync();
        }

        await ReopenAsync();

        Assert.Equal(file.Ino, (await Engine.LookupAsync(Root, RootIno, "kept", None)).Value.Ino);
        var session = await Engine.RegisterSessionAsync("h", 1, "v", "", None);
        Assert.True(await Engine.TryAcquireLeaseAsync("job", session, TimeSpan.FromMinutes(1), None));
    }

    [Fact]
    public async Task Meta_urls()
    {
        var e = Assert.Throws<VolumeException>(() => MetaEngines.Open("mysql://localhost/1"));
        Assert.Contains("sqlite://", e.Message);
        var path = Path.Combine(Dir, "url.db");
        await using var engine = MetaEngines.Open("sqlite://" + path);
        Assert.Equal("sqlite://" + path, engine.Description);
        Assert.Null(await engine.LoadFormatAsync(None));
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Fs.Core.Locks;
using Fs.Core.Meta;
using Fs.Core.Meta.Redis;
using Fs.Core.Tests.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta.Redis;

/// <summary>What only a shared engine has: schema refusal, URLs, several appliances on one volume, change notices.</summary>
public sealed class RedisEngineTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Caller Alice = new(1000, 1000);
    private readonly string _prefix = "engine-" + Guid.NewGuid().ToString("N");
    private readonly List<RedisMetaEngine> _engines = [];
    private RedisServer _server = null!;

    public async Task InitializeAsync() => _server = await RedisServer.Shared;

    public async Task DisposeAsync()
    {
        foreach (var engine in _engines)
            await engine.DisposeAsync();
    }

    /// <summary>One appliance's engine on the test volume.</summary>
    private RedisMetaEngine Appliance()
    {
        var engine = new RedisMetaEngine(_server.Url(_prefix));
        _engines.Add(engine);
        return engine;
    }

    private async Task<RedisMetaEngine> FormattedAsync()
    {
        var engine = Appliance();
        Assert.Equal(Errno.OK, await engine.FormatAsync(SqliteEngineTest.NewFormat(), None));
        return engine;
    }

    [Fact]
    public async Task A_volume_of_a_newer_schema_is_refused_with_a_clear_message()
    {
        await FormattedAsync();
        await _server.CommandAsync($"SET {{{_prefix}}}schema {RedisMetaEngine.SchemaVersion + 1}");
        var newer = Appliance();
        var e = await Assert.ThrowsAsync<VolumeException>(async () => await newer.LoadFormatAsync(None));
        Assert.Contains("newer than this appliance supports", e.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_volume_error_naming_it()
    {
        await using var gone = await RedisServer.StartAsync();
        await gone.StopAsync();
        await using var engine = new RedisMetaEngine($"redis://127.0.0.1:{gone.Port}/0");
        var e = await Assert.ThrowsAsync<VolumeException>(async () => await engine.LoadFormatAsync(None));
        Assert.Contains($"127.0.0.1:{gone.Port}", e.Message);
    }

    [Theory]
    [InlineData("redis://localhost:6400/3", "localhost:6400", 3, false, null, null, "fs")]
    [InlineData("redis://u:p%40ss@h:1/0?prefix=vol1", "h:1", 0, false, "u", "p@ss", "vol1")]
    [InlineData("redis://:secret@h", "h:6379", null, false, null, "secret", "fs")]
    [InlineData("rediss://h:6380/2", "h:6380", 2, true, null, null, "fs")]
    [InlineData("redis+sentinel://s1:26379,s2/1?service=mymaster", "s1:26379", 1, false, null, null, "fs")]
    public void Urls_name_server_database_credentials_and_prefix(
        string url, string firstEndPoint, int? db, bool tls, string? user, string? password, string prefix)
    {
        var parsed = RedisMetaUrl.Parse(url);
        Assert.Equal(firstEndPoint, parsed.Options.EndPoints[0].ToString()!.Replace("Unspecified/", ""));
        Assert.Equal(db, parsed.Options.DefaultDatabase);
        Assert.Equal(tls, parsed.Options.Ssl);
        Assert.Equal(user, parsed.Options.User);
        Assert.Equal(password, parsed.Options.Password);
        Assert.Equal(prefix, parsed.Prefix);
        Assert.DoesNotContain("secret", parsed.Display);
        Assert.DoesNotContain("p@ss", parsed.Display);
    }

    [Theory]
    [InlineData("redis+sentinel://s1/0")]
    [InlineData("redis://h:99999/0")]
    [InlineData("redis://h/abc")]
    [InlineData("redis://h/0?colour=blue")]
    [InlineData("redis://h/0?service=x")]
    public void Malformed_urls_are_refused(string url) =>
        Assert.Throws<VolumeException>(() => RedisMetaUrl.Parse(url));

    [Fact]
    public void The_factory_opens_redis_urls_and_names_every_scheme_otherwise()
    {
        Assert.IsType<RedisMetaEngine>(MetaEngines.Open(_server.Url(_prefix)));
        var e = Assert.Throws<VolumeException>(() => MetaEngines.Open("mysql://h/db"));
        Assert.Contains("redis+sentinel://", e.Message);
    }

    [Fact]
    public async Task A_silent_appliance_is_cleaned_by_another_its_locks_released_and_its_unlinked_files_deleted()
    {
        var a = await FormattedAsync();
        var b = Appliance();
        var sessionA = await a.RegisterSessionAsync("host-a", 11, "1.0", "nfs,fuse", None);
        var sessionB = await b.RegisterSessionAsync("host-b", 22, "1.0", "webdav", None);
        Assert.Equal(["host-a", "host-b"], (await b.ListSessionsAsync(None)).Select(s => s.Host));
        await b.SetSessionDoorsAsync(sessionB, "webdav on http://127.0.0.1:8080/", None);
        Assert.Equal(["nfs,fuse", "webdav on http://127.0.0.1:8080/"], (await a.ListSessionsAsync(None)).Select(s => s.Doors));

        var f = (await a.MknodAsync(Alice, FsLimits.RootIno, "f", FileType.Regular, 0x1A4, 0, null, None)).Value;
        var g = (await a.MknodAsync(Alice, FsLimits.RootIno, "g", FileType.Regular, 0x1A4, 0, null, None)).Value;
        var slice = new Slice(await a.NewSliceIdAsync(None), 100, 0, 100, 0);
        Assert.True((await a.WriteChunkAsync(f.Ino, 0, slice, UnixTime.NowNanos(), false, None)).Ok);
        Assert.True((await a.OpenAsync(Alice, sessionA, f.Ino, OpenFlags.ReadWrite, None)).Ok);
        Assert.True((await a.OpenAsync(Alice, sessionA, g.Ino, OpenFlags.ReadOnly, None)).Ok);
        Assert.True((await b.OpenAsync(Alice, sessionB, g.Ino, OpenFlags.ReadOnly, None)).Ok);
        Assert.False((await b.UnlinkAsync(Alice, FsLimits.RootIno, "f", None)).Value.Deleted);
        Assert.False((await b.UnlinkAsync(Alice, FsLimits.RootIno, "g", None)).Value.Deleted);
        var lockA = new LockRecord(LockKind.Posix, LockMode.Exclusive, new LockOwner(sessionA, LockDoor.Fuse, "c", 7), 0, 10);
        var lockB = new LockRecord(LockKind.Flock, LockMode.Shared, new LockOwner(sessionB, LockDoor.Nfs, "d", 8));
        await a.UpdateLocksAsync(g.Ino, l => ((IReadOnlyList<LockRecord>?)[.. l, lockA], 0), None);
        await b.UpdateLocksAsync(g.Ino, l => ((IReadOnlyList<LockRecord>?)[.. l, lockB], 0), None);
        await a.UpdateLocksAsync(FsLimits.RootIno, l => ((IReadOnlyList<LockRecord>?)[.. l, lockA], 0), None);

        // Appliance A stops beating; B keeps beating and, past the timeout, closes A's session.
        await Task.Delay(1200);
        await b.HeartbeatAsync(sessionB, None);
        Assert.Equal([sessionA], await b.CleanStaleSessionsAsync(TimeSpan.FromSeconds(1), None));
        Assert.Empty(await b.CleanStaleSessionsAsync(TimeSpan.FromSeconds(1), None));

        Assert.Equal([sessionB], (await b.ListSessionsAsync(None)).Select(s => s.Id));
        Assert.Equal([(g.Ino, lockB)], await b.ListLocksAsync(None));
        Assert.Equal(Errno.ENOENT, (await b.GetAttrAsync(f.Ino, None)).Error); // only A had it open
        Assert.True((await b.GetAttrAsync(g.Ino, None)).Ok); // B still has it open
        Assert.Equal([slice.Id], (await b.PendingSliceDeletionsAsync(10, None)).Select(p => p.Id));
        Assert.Empty(await b.CheckAsync(false, None));

        // A heartbeat or a late door description of the closed session does not bring it back.
        await a.HeartbeatAsync(sessionA, None);
        await a.SetSessionDoorsAsync(sessionA, "nfs on 127.0.0.1:2049", None);
        Assert.Equal([sessionB], (await b.ListSessionsAsync(None)).Select(s => s.Id));
        await b.CloseSessionAsync(sessionB, None);
        Assert.Equal(Errno.ENOENT, (await b.GetAttrAsync(g.Ino, None)).Error);
        Assert.Empty(await b.ListLocksAsync(None));
        Assert.Equal(new UsageCounters(0, 1), await b.GetUsageAsync(None));
    }

    [Fact]
    public async Task Create_records_the_open_and_a_file_released_and_unlinked_here_goes_at_once()
    {
        var a = await FormattedAsync();
        var session = await a.RegisterSessionAsync("host-a", 11, "1.0", "nfs", None);
        var f = (await a.CreateAsync(Alice, session, FsLimits.RootIno, "f", 0, None)).Value;
        Assert.Equal(Errno.EEXIST, (await a.CreateAsync(Alice, session, FsLimits.RootIno, "f", 0x1A4, None)).Error);
        Assert.False((await a.UnlinkAsync(Alice, FsLimits.RootIno, "f", None)).Value.Deleted); // open since its creation
        await a.CloseAsync(session, f.Ino, None);
        Assert.Equal(Errno.ENOENT, (await a.GetAttrAsync(f.Ino, None)).Error);

        // Released here, the close is owed; an unlink here settles it in its own commit.
        var g = (await a.CreateAsync(Alice, session, FsLimits.RootIno, "g", 0x1A4, None)).Value;
        var slice = new Slice(await a.NewSliceIdAsync(None), 100, 0, 100, 0);
        Assert.True((await a.WriteChunkAsync(g.Ino, 0, slice, UnixTime.NowNanos(), false, None)).Ok);
        await a.CloseAsync(session, g.Ino, None);
        Assert.True((await a.UnlinkAsync(Alice, FsLimits.RootIno, "g", None)).Value.Deleted);
        Assert.Equal([slice.Id], (await a.PendingSliceDeletionsAsync(10, None)).Select(p => p.Id));

        // The same through a rename over the released file.
        var h = (await a.CreateAsync(Alice, session, FsLimits.RootIno, "h", 0x1A4, None)).Value;
        await a.CloseAsync(session, h.Ino, None);
        Assert.True((await a.MknodAsync(Alice, FsLimits.RootIno, "i", FileType.Regular, 0x1A4, 0, null, None)).Ok);
        Assert.True((await a.RenameAsync(Alice, FsLimits.RootIno, "i", FsLimits.RootIno, "h", RenameFlags.None, None)).Value!.Deleted);
        Assert.Empty(await a.CheckAsync(false, None));
        Assert.Equal(new UsageCounters(0, 2), await a.GetUsageAsync(None));
    }

    [Fact]
    public async Task A_close_here_reaches_another_appliance_soon_after_and_never_before_the_last_close()
    {
        var a = await FormattedAsync();
        var b = Appliance();
        var sessionA = await a.RegisterSessionAsync("host-a", 11, "1.0", "nfs", None);
        await b.RegisterSessionAsync("host-b", 22, "1.0", "nfs", None);

        var f = (await a.CreateAsync(Alice, sessionA, FsLimits.RootIno, "f", 0x1A4, None)).Value;
        Assert.True((await a.OpenAsync(Alice, sessionA, f.Ino, OpenFlags.ReadOnly, None)).Ok);
        await a.CloseAsync(sessionA, f.Ino, None);
        Assert.False((await b.UnlinkAsync(Alice, FsLimits.RootIno, "f", None)).Value.Deleted);
        await Task.Delay(500); // well past the owed close's commit
        Assert.True((await b.GetAttrAsync(f.Ino, None)).Ok, "deleted while still open on the other appliance");
        await a.CloseAsync(sessionA, f.Ino, None);
        Assert.True(await GoneWithinAsync(b, f.Ino, TimeSpan.FromSeconds(2)), "not deleted after the last close");

        var g = (await a.CreateAsync(Alice, sessionA, FsLimits.RootIno, "g", 0x1A4, None)).Value;
        await a.CloseAsync(sessionA, g.Ino, None);
        var clock = Stopwatch.StartNew();
        await b.UnlinkAsync(Alice, FsLimits.RootIno, "g", None);
        Assert.True(await GoneWithinAsync(b, g.Ino, TimeSpan.FromSeconds(2)), "a file closed on one appliance and unlinked on another stayed");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"deleted only after {clock.Elapsed.TotalMilliseconds:F0} ms");

        // Disposing the engine sends what it owes: nothing is left recorded as open.
        var h = (await a.CreateAsync(Alice, sessionA, FsLimits.RootIno, "h", 0x1A4, None)).Value;
        await a.CloseAsync(sessionA, h.Ino, None);
        await a.DisposeAsync();
        Assert.True((await b.UnlinkAsync(Alice, FsLimits.RootIno, "h", None)).Value.Deleted);
        Assert.Empty(await b.CheckAsync(false, None));
    }

    [Fact]
    public async Task Closes_owed_by_two_sessions_of_one_appliance_delete_a_file_unlinked_on_another()
    {
        var a = await FormattedAsync();
        var b = Appliance();
        var one = await a.RegisterSessionAsync("host-a", 11, "1.0", "nfs", None);
        var two = await a.RegisterSessionAsync("host-a", 11, "1.0", "fuse", None);
        await b.RegisterSessionAsync("host-b", 22, "1.0", "nfs", None);
        var f = (await a.CreateAsync(Alice, one, FsLimits.RootIno, "f", 0x1A4, None)).Value;
        Assert.True((await a.OpenAsync(Alice, two, f.Ino, OpenFlags.ReadOnly, None)).Ok);
        await a.CloseAsync(one, f.Ino, None);
        await a.CloseAsync(two, f.Ino, None);
        await b.UnlinkAsync(Alice, FsLimits.RootIno, "f", None);
        Assert.True(await GoneWithinAsync(b, f.Ino, TimeSpan.FromSeconds(2)), "a file closed by both sessions stayed");
        Assert.Empty(await b.CheckAsync(false, None));
    }

    private static async Task<bool> GoneWithinAsync(RedisMetaEngine engine, ulong ino, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while ((await engine.GetAttrAsync(ino, None)).Ok)
        {
            if (clock.Elapsed > limit)
                return false;
            await Task.Delay(10);
        }
        return true;
    }

    [Fact]
    public async Task Changes_are_announced_to_other_appliances_but_not_back_to_their_maker()
    {
        var a = await FormattedAsync();
        var b = Appliance();
        await b.LoadFormatAsync(None);
        var seenByB = new ConcurrentQueue<ulong>();
        var seenByA = new ConcurrentQueue<ulong>();
        var locksSeenByB = new ConcurrentQueue<ulong>();
        b.InodesChanged += seenByB.Enqueue;
        a.InodesChanged += seenByA.Enqueue;
        b.LocksChanged += locksSeenByB.Enqueue;

        var dir = (await a.MknodAsync(Caller.Root, FsLimits.RootIno, "d", FileType.Directory, 0x1ED, 0, null, None)).Value;
        var record = new LockRecord(LockKind.Flock, LockMode.Exclusive, new LockOwner(1, LockDoor.Fuse, "c", 1));
        await a.UpdateLocksAsync(dir.Ino, _ => ((IReadOnlyList<LockRecord>?)[record], 0), None);
        var deadline = Stopwatch.StartNew();
        while ((seenByB.Count < 2 || locksSeenByB.IsEmpty) && deadline.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(10);
        Assert.Equal([FsLimits.RootIno, dir.Ino], seenByB.Order());
        Assert.Equal([dir.Ino], locksSeenByB);
        Assert.Empty(seenByA);
    }

    [Fact]
    public async Task Optimistic_commits_from_two_appliances_on_one_directory_lose_nothing()
    {
        var a = await FormattedAsync();
        var b = Appliance();
        const int perAppliance = 200;
        async Task CreateAll(RedisMetaEngine engine, string tag)
        {
            for (var i = 0; i < perAppliance; i++)
                Assert.True((await engine.MknodAsync(Alice, FsLimits.RootIno, $"{tag}{i}", FileType.Regular, 0x1A4, 0, null, None)).Ok);
        }
        await Task.WhenAll(CreateAll(a, "a"), CreateAll(b, "b"), CreateAll(a, "c"), CreateAll(b, "d"));
        var listed = (await a.ReadDirAsync(Caller.Root, FsLimits.RootIno, 0, 10_000, false, None)).Value;
        Assert.Equal(4 * perAppliance, listed.Count);
        Assert.Equal(listed.Count, listed.Select(e => e.Cookie).Distinct().Count());
        Assert.Equal(new UsageCounters(0, 1 + 4 * perAppliance), await b.GetUsageAsync(None));
        Assert.Empty(await b.CheckAsync(false, None));
    }
}

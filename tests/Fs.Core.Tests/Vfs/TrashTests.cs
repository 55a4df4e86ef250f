using Fs.Core.Meta;
using Fs.Core.Tests.Meta.Redis;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>With TrashDays above zero, removed and replaced files wait in /.trash, can be restored, and expire; on every engine.</summary>
public abstract class TrashTests : IAsyncLifetime
{
    private readonly ShiftedClock _clock = new();
    private AdminVolume _volume = null!;

    public async Task InitializeAsync() =>
        _volume = await AdminVolume.CreateAsync(f => f with { TrashDays = 1 }, o => o with { Clock = _clock, TrashCleanInterval = TimeSpan.FromMilliseconds(100) }, MetaUrlAsync);

    /// <summary>The metadata URL of the volume in <paramref name="dir"/>; null keeps SQLite in the directory.</summary>
    protected abstract Func<string, Task<string>>? MetaUrlAsync { get; }

    public async Task DisposeAsync() => await _volume.DisposeAsync();

    protected FileSystem Fs => _volume.Fs;

    private async Task<List<TrashEntry>> TrashedAsync()
    {
        var bin = new TrashBin(Fs.Meta);
        var all = new List<TrashEntry>();
        foreach (var hour in await bin.ListHoursAsync(CancellationToken.None))
            all.AddRange(await bin.ListEntriesAsync(hour, CancellationToken.None));
        return all;
    }

    [Fact]
    public async Task A_removed_file_waits_in_the_trash_hidden_from_the_root_listing_and_restores_intact()
    {
        var dir = (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "work", 0x1ED)).Value;
        var data = new byte[200_000];
        new Random(3).NextBytes(data);
        var file = await _volume.WriteFileAsync(dir.Ino, "report.doc", data);

        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, dir.Ino, "report.doc"));

        Assert.Equal(Errno.ENOENT, (await Fs.LookupAsync(Caller.Root, dir.Ino, "report.doc")).Error);
        Assert.DoesNotContain(await _volume.ListAsync(FsLimits.RootIno), e => e.Name == TrashLayout.Name);
        var trash = await _volume.LookupAsync("/.trash");
        Assert.Equal(TrashLayout.TrashIno, trash.Ino);
        var hour = Assert.Single(await _volume.ListAsync(trash.Ino));
        Assert.True(TrashLayout.TryParseHour(hour.Name, out _), hour.Name);
        var entry = Assert.Single(await _volume.ListAsync(hour.Ino));
        Assert.Equal($"{dir.Ino}-{file.Ino}-report.doc", entry.Name);
        Assert.Equal(data, await _volume.ReadFileAsync(entry.Ino));

        var restored = await new TrashBin(Fs.Meta).RestoreAsync(Assert.Single(await TrashedAsync()), CancellationToken.None);

        Assert.Equal(Errno.OK, restored);
        var back = await _volume.LookupAsync("/work/report.doc");
        Assert.Equal(file.Ino, back.Ino);
        Assert.Equal(data, await _volume.ReadFileAsync(back.Ino));
        Assert.Empty(await TrashedAsync());
    }

    [Fact]
    public async Task A_file_replaced_by_rename_goes_to_the_trash()
    {
        var old = await _volume.WriteFileAsync(FsLimits.RootIno, "config", "old"u8.ToArray());
        await _volume.WriteFileAsync(FsLimits.RootIno, "config.tmp", "new"u8.ToArray());

        Assert.Equal(Errno.OK, await Fs.RenameAsync(Caller.Root, FsLimits.RootIno, "config.tmp", FsLimits.RootIno, "config"));

        Assert.Equal("new"u8.ToArray(), await _volume.ReadFileAsync((await _volume.LookupAsync("/config")).Ino));
        var entry = Assert.Single(await TrashedAsync());
        Assert.Equal(old.Ino, entry.Ino);
        Assert.Equal("config", entry.OriginalName);
        Assert.Equal("old"u8.ToArray(), await _volume.ReadFileAsync(entry.Ino));
    }

    [Fact]
    public async Task Restoring_onto_a_name_taken_again_fails_and_keeps_both()
    {
        await _volume.WriteFileAsync(FsLimits.RootIno, "notes", "first"u8.ToArray());
        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "notes"));
        await _volume.WriteFileAsync(FsLimits.RootIno, "notes", "second"u8.ToArray());

        var result = await new TrashBin(Fs.Meta).RestoreAsync(Assert.Single(await TrashedAsync()), CancellationToken.None);

        Assert.Equal(Errno.EEXIST, result);
        Assert.Equal("second"u8.ToArray(), await _volume.ReadFileAsync((await _volume.LookupAsync("/notes")).Ino));
        Assert.Equal("first"u8.ToArray(), await _volume.ReadFileAsync(Assert.Single(await TrashedAsync()).Ino));
    }

    [Fact]
    public async Task Directories_are_not_kept_and_ordinary_users_cannot_write_into_the_trash()
    {
        Assert.True((await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "empty", 0x1FF)).Ok);
        await _volume.WriteFileAsync(FsLimits.RootIno, "f", [1]);
        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "f"));

        Assert.Equal(Errno.OK, await Fs.RmdirAsync(Caller.Root, FsLimits.RootIno, "empty"));

        Assert.DoesNotContain(await TrashedAsync(), e => e.Type == FileType.Directory);
        var user = new Caller(1000, 1000, [1000]);
        var hour = Assert.Single(await _volume.ListAsync(TrashLayout.TrashIno));
        Assert.Equal(Errno.EACCES, (await Fs.MknodAsync(user, hour.Ino, "planted", FileType.Regular, 0x1A4)).Error);
        Assert.Equal(Errno.EACCES, await Fs.UnlinkAsync(user, hour.Ino, Assert.Single(await TrashedAsync()).Name));
    }

    [Fact]
    public async Task Trash_older_than_the_volume_keeps_is_emptied_by_the_background_job()
    {
        var data = new byte[3 * AdminVolume.BlockSize];
        var file = await _volume.WriteFileAsync(FsLimits.RootIno, "old.log", data);
        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "old.log"));
        var objects = await CountObjectsAsync();
        Assert.True(objects >= 3);

        // A day later the entry is still kept (its hour has not ended a day ago yet)...
        _clock.Shift = TimeSpan.FromHours(23);
        await Task.Delay(500);
        Assert.Single(await TrashedAsync());

        // ...and once its hour is more than a day old, the job removes it and its data.
        _clock.Shift = TimeSpan.FromHours(26);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await Fs.GetAttrAsync(file.Ino)).Ok || await CountObjectsAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the trash was not emptied");
            await Task.Delay(100);
        }
        Assert.Empty(await new TrashBin(Fs.Meta).ListHoursAsync(CancellationToken.None));
    }

    private async Task<int> CountObjectsAsync()
    {
        var n = 0;
        await foreach (var _ in Fs.ObjectStore.ListAsync("chunks/", CancellationToken.None))
            n++;
        return n;
    }

    /// <summary>The system clock moved forward by <see cref="Shift"/>; timers stay real.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Shift { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
    }
}

/// <summary>The trash on the embedded default, plus the SQLite lease rule that a closed session's leases end with it.</summary>
public sealed class SqliteTrashTests : TrashTests
{
    protected override Func<string, Task<string>>? MetaUrlAsync => null;

    [Fact]
    public async Task Only_one_session_holds_the_trash_lease_until_it_ends_or_expires()
    {
        var meta = Fs.Meta;
        var other = await meta.RegisterSessionAsync("other", 1, "test", "", CancellationToken.None);
        var third = await meta.RegisterSessionAsync("third", 2, "test", "", CancellationToken.None);

        Assert.True(await meta.TryAcquireLeaseAsync("job", other, TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.False(await meta.TryAcquireLeaseAsync("job", third, TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.True(await meta.TryAcquireLeaseAsync("job", other, TimeSpan.FromMilliseconds(1), CancellationToken.None));
        await Task.Delay(20);
        Assert.True(await meta.TryAcquireLeaseAsync("job", third, TimeSpan.FromMinutes(5), CancellationToken.None));
        await meta.CloseSessionAsync(third, CancellationToken.None);
        Assert.True(await meta.TryAcquireLeaseAsync("job", other, TimeSpan.FromMinutes(5), CancellationToken.None));
    }
}

/// <summary>The same trash assertions with the metadata in a real redis-server.</summary>
public sealed class RedisTrashTests : TrashTests
{
    protected override Func<string, Task<string>>? MetaUrlAsync => async dir => (await RedisServer.Shared).Url(Path.GetFileName(dir));
}

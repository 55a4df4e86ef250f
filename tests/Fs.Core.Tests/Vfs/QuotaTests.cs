using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>Capacity and inode limits: reported by statfs and enforced with ENOSPC without harming what is stored.</summary>
public sealed class QuotaTests : IAsyncLifetime
{
    private const long Capacity = 1 << 20;
    private AdminVolume _volume = null!;

    public async Task InitializeAsync() =>
        _volume = await AdminVolume.CreateAsync(f => f with { CapacityBytes = Capacity, InodeLimit = 5 },
            o => o with { HeartbeatInterval = TimeSpan.FromMilliseconds(100) });

    public async Task DisposeAsync() => await _volume.DisposeAsync();

    private FileSystem Fs => _volume.Fs;

    [Fact]
    public async Task Writing_past_the_capacity_is_ENOSPC_and_earlier_data_stays_intact()
    {
        var first = new byte[700 << 10];
        new Random(5).NextBytes(first);
        var kept = await _volume.WriteFileAsync(FsLimits.RootIno, "kept", first);

        var (_, handle) = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "overflow", 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
        var chunk = new byte[64 << 10];
        Array.Fill(chunk, (byte)7);
        long written = 0;
        Errno failure = Errno.OK;
        for (var i = 0; i < 16 && failure == Errno.OK; i++)
        {
            var result = await Fs.WriteAsync(handle, written, chunk);
            if (result.Ok)
                written += result.Value;
            else
                failure = result.Error;
        }
        Assert.Equal(Errno.ENOSPC, failure);
        // Rewriting bytes already counted takes no new space and is allowed at the limit.
        Assert.True((await Fs.WriteAsync(handle, 0, chunk)).Ok);
        Assert.Equal(Errno.OK, await Fs.ReleaseAsync(handle));

        Assert.Equal(first, await _volume.ReadFileAsync(kept.Ino));
        var overflow = await _volume.LookupAsync("/overflow");
        Assert.Equal(written, overflow.Size);
        Assert.All(await _volume.ReadFileAsync(overflow.Ino), b => Assert.Equal(7, b));
        Assert.True(first.Length + written <= Capacity);

        var statfs = (await Fs.StatFsAsync()).Value;
        Assert.Equal(Capacity, statfs.TotalBytes);
        Assert.True(statfs.AvailableBytes < 64 << 10);
    }

    [Fact]
    public async Task Removing_data_makes_room_again()
    {
        await _volume.WriteFileAsync(FsLimits.RootIno, "a", new byte[900 << 10]);
        var (_, handle) = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "b", 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
        Assert.Equal(Errno.ENOSPC, (await Fs.WriteAsync(handle, 0, new byte[200 << 10])).Error);

        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "a"));

        Assert.Equal(200 << 10, (await Fs.WriteAsync(handle, 0, new byte[200 << 10])).Value);
        Assert.Equal(Errno.OK, await Fs.ReleaseAsync(handle));
    }

    [Fact]
    public async Task Creating_past_the_inode_limit_is_ENOSPC_and_statfs_reports_the_limit()
    {
        // The root is one inode of the five.
        for (var i = 0; i < 4; i++)
            Assert.True((await Fs.MknodAsync(Caller.Root, FsLimits.RootIno, $"f{i}", FileType.Regular, 0x1A4)).Ok);

        Assert.Equal(Errno.ENOSPC, (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "one-more", 0x1ED)).Error);
        var statfs = (await Fs.StatFsAsync()).Value;
        Assert.Equal(5, statfs.UsedInodes);
        Assert.Equal(0, statfs.AvailableInodes);
    }

    [Fact]
    public async Task A_limit_raised_after_format_applies_to_the_running_volume()
    {
        await _volume.WriteFileAsync(FsLimits.RootIno, "a", new byte[900 << 10]);
        var format = await Fs.Meta.LoadFormatAsync(CancellationToken.None);
        await Fs.Meta.UpdateFormatAsync(format! with { CapacityBytes = 4 << 20 }, CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await Fs.StatFsAsync()).Value.TotalBytes != 4 << 20)
        {
            Assert.True(DateTime.UtcNow < deadline, "the running volume did not pick up the new capacity");
            await Task.Delay(50);
        }

        await _volume.WriteFileAsync(FsLimits.RootIno, "b", new byte[2 << 20]);
    }
}

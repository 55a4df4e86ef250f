using Fs.Core.Cache;
using Fs.Core.Chunks;
using Fs.Core.Meta;
using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Chunks;

/// <summary>The fsck check on a real volume (SQLite + local directory) with damage done to its object store by hand.</summary>
public sealed class VolumeCheckerTests : IAsyncLifetime
{
    private const int BlockSize = 1 << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("volume-checker-").FullName;
    private FileSystem _fs = null!;
    private ulong _fileIno;

    public async Task InitializeAsync()
    {
        var meta = "sqlite://" + Path.Combine(_dir, "meta.db");
        await FileSystem.FormatAsync(new FormatOptions
        {
            Name = "checked",
            MetaUrl = meta,
            StorageUrl = "file://" + Path.Combine(_dir, "objects"),
            BlockSize = BlockSize,
        });
        _fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = meta });

        var (attr, handle) = (await _fs.CreateAsync(Caller.Root, FsLimits.RootIno, "data.bin", 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
        _fileIno = attr.Ino;
        var data = new byte[(2 * BlockSize) + 4321];
        new Random(7).NextBytes(data);
        Assert.Equal(data.Length, (await _fs.WriteAsync(handle, 0, data)).Value);
        Assert.Equal(Errno.OK, await _fs.FsyncAsync(handle));
        Assert.Equal(Errno.OK, await _fs.ReleaseAsync(handle));
    }

    public async Task DisposeAsync()
    {
        await _fs.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<VolumeCheckReport> CheckAsync() =>
        new VolumeChecker(_fs.Meta, _fs.ObjectStore, _fs.Format.BlockSize, _fs.VerifyBlockAsync).CheckAsync(repair: false, progress: null, CancellationToken.None);

    private async Task<List<BlockKey>> StoredBlocksAsync()
    {
        var blocks = new List<BlockKey>();
        await foreach (var obj in _fs.ObjectStore.ListAsync("chunks/", CancellationToken.None))
        {
            Assert.True(BlockKey.TryParse(obj.Key, out var key), $"unexpected object {obj.Key}");
            blocks.Add(key);
        }
        return blocks;
    }

    [Fact]
    public async Task A_healthy_volume_is_clean_and_every_block_is_counted()
    {
        var report = await CheckAsync();

        Assert.True(report.Clean);
        Assert.Empty(report.BlockProblems);
        Assert.Empty(report.LeakedObjects);
        Assert.Equal((await StoredBlocksAsync()).Count, report.Blocks);
        Assert.True(report.Bytes >= (2 * BlockSize) + 4321);
    }

    [Fact]
    public async Task A_deleted_block_is_missing_and_names_the_file()
    {
        var victim = (await StoredBlocksAsync())[0];
        await _fs.ObjectStore.DeleteAsync(victim.ObjectKey, CancellationToken.None);

        var report = await CheckAsync();

        Assert.False(report.Clean);
        var problem = Assert.Single(report.BlockProblems);
        Assert.Equal(BlockProblemKind.Missing, problem.Kind);
        Assert.Equal(victim, problem.Block);
        Assert.Contains(_fileIno, problem.Inodes);
    }

    [Fact]
    public async Task An_overwritten_block_is_corrupt()
    {
        var victim = (await StoredBlocksAsync())[^1];
        var garbage = new byte[victim.Size];
        new Random(99).NextBytes(garbage);
        await _fs.ObjectStore.PutAsync(victim.ObjectKey, garbage, CancellationToken.None);

        var report = await CheckAsync();

        Assert.False(report.Clean);
        var problem = Assert.Single(report.BlockProblems);
        Assert.Equal(BlockProblemKind.Corrupt, problem.Kind);
        Assert.Equal(victim, problem.Block);
    }

    [Fact]
    public async Task An_unreferenced_object_is_leaked_but_the_volume_stays_clean()
    {
        var stray = new BlockKey(987_654_321, 0, 10);
        await _fs.ObjectStore.PutAsync(stray.ObjectKey, new byte[10], CancellationToken.None);

        var report = await CheckAsync();

        Assert.True(report.Clean);
        Assert.Equal(stray.ObjectKey, Assert.Single(report.LeakedObjects).Key);
    }

    [Fact]
    public async Task Objects_of_a_removed_file_await_deletion_and_are_not_leaked()
    {
        var blocks = (await StoredBlocksAsync()).Count;
        // The engine and store alone, without a file system whose background deleter would race the check.
        var metaUrl = "sqlite://" + Path.Combine(_dir, "meta.db");
        await _fs.DisposeAsync();
        await using (var meta = MetaEngines.Open(metaUrl))
        await using (var store = ObjectStores.Open("file://" + Path.Combine(_dir, "objects")))
        {
            var removed = await meta.UnlinkAsync(Caller.Root, FsLimits.RootIno, "data.bin", CancellationToken.None);
            Assert.True(removed.Value.Deleted);

            var report = await new VolumeChecker(meta, store, BlockSize, (_, _) => ValueTask.FromResult(true))
                .CheckAsync(repair: false, progress: null, CancellationToken.None);

            Assert.Empty(report.LeakedObjects);
            Assert.Equal(blocks, report.PendingDeletionObjects);
        }
        _fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = metaUrl });
    }
}

using Fs.Core.Cache;
using Fs.Core.Objects;
using Fs.Core.Tests.Objects;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Tests.Cache;

public sealed class BlockCacheTests() : CacheTestBase(BlockCompression.Lz4)
{
    private const int BlockSize = 64 << 10;

    private string DiskDir => Path.Combine(ScratchPath, "cache");

    private BlockCache NewCache(long memoryBytes = 64L << 20, bool disk = false, long diskBytes = 1L << 30, int maxPrefetches = 32) =>
        new(Store, Codec, new BlockCacheOptions
        {
            MemoryBytes = memoryBytes,
            DiskDir = disk ? DiskDir : null,
            DiskBytes = diskBytes,
            DiskMinFreeRatio = 0,
            UploadConcurrency = 4,
            MaxPrefetches = maxPrefetches,
        }, NullLogger.Instance);

    private static BlockKey Key(ulong slice, int index = 0, int size = BlockSize) => new(slice, index, size);

    private static byte[] Data(BlockKey key)
    {
        var data = new byte[key.Size];
        new Random((int)key.SliceId * 31 + key.Index).NextBytes(data);
        return data;
    }

    private static async Task<byte[]> ReadAll(BlockCache cache, BlockKey key)
    {
        var buffer = new byte[key.Size];
        await cache.ReadAsync(key, 0, buffer, default);
        return buffer;
    }

    /// <summary>Puts a block in the store the way a cache in another process would.</summary>
    private async Task StoreBlock(BlockKey key)
    {
        await using var writer = NewCache(memoryBytes: 0);
        await writer.WriteAsync(key, Data(key), default);
    }

    [Fact]
    public async Task AWrittenBlockIsReadBackWithoutAStoreRequest()
    {
        await using var cache = NewCache();
        var key = Key(1);
        await cache.WriteAsync(key, Data(key), default);
        Assert.Equal(1, Store.Puts);

        Assert.Equal(Data(key), await ReadAll(cache, key));
        Assert.Equal(0, Store.Gets);
        Assert.Equal(1, cache.Stats.MemoryHits);
    }

    [Fact]
    public async Task PartialReadsReturnTheRightBytes()
    {
        var key = Key(2);
        await StoreBlock(key);
        await using var cache = NewCache(memoryBytes: 0);
        var buffer = new byte[1000];
        await cache.ReadAsync(key, 12_345, buffer, default);
        Assert.Equal(Data(key).AsSpan(12_345, 1000).ToArray(), buffer);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await cache.ReadAsync(key, BlockSize - 10, new byte[11], default));
    }

    [Fact]
    public async Task ConcurrentReadsOfAnUncachedBlockMakeOneStoreRequest()
    {
        var key = Key(3);
        await StoreBlock(key);
        await using var cache = NewCache();
        Store.CloseGate();
        var readers = Enumerable.Range(0, 16).Select(_ => Task.Run(() => ReadAll(cache, key))).ToArray();
        while (Store.Gets == 0)
            await Task.Delay(5);
        await Task.Delay(100); // every reader has had time to ask
        Store.OpenGate();

        foreach (var reader in readers)
            Assert.Equal(Data(key), await reader);
        Assert.Equal(1, Store.Gets);
    }

    [Fact]
    public async Task TheMemoryTierStaysWithinItsBound()
    {
        await using var cache = NewCache(memoryBytes: 3 * BlockSize);
        for (ulong slice = 10; slice < 20; slice++)
            await cache.WriteAsync(Key(slice), Data(Key(slice)), default);

        var stats = cache.Stats;
        Assert.True(stats.MemoryBytes <= 3 * BlockSize, $"{stats.MemoryBytes} bytes cached");
        Assert.Equal(3, stats.MemoryBlocks);
        Assert.Equal(7, stats.MemoryEvictions);

        Assert.Equal(Data(Key(19)), await ReadAll(cache, Key(19)));
        Assert.Equal(0, Store.Gets);
        Assert.Equal(Data(Key(10)), await ReadAll(cache, Key(10)));
        Assert.Equal(1, Store.Gets);
    }

    [Fact]
    public async Task TheDiskTierSurvivesANewCacheInstance()
    {
        await using (var first = NewCache(disk: true))
        {
            for (ulong slice = 30; slice < 35; slice++)
                await first.WriteAsync(Key(slice), Data(Key(slice)), default);
        }

        await using var second = NewCache(memoryBytes: 0, disk: true);
        Assert.Equal(5, second.Stats.DiskBlocks);
        for (ulong slice = 30; slice < 35; slice++)
            Assert.Equal(Data(Key(slice)), await ReadAll(second, Key(slice)));
        Assert.Equal(0, Store.Gets);
        Assert.Equal(5, second.Stats.DiskHits);
    }

    [Fact]
    public async Task TheDiskTierStaysWithinItsBound()
    {
        var limit = 3L * BlockSize; // encoded blocks of random data are slightly larger than BlockSize
        await using var cache = NewCache(memoryBytes: 0, disk: true, diskBytes: limit);
        for (ulong slice = 40; slice < 50; slice++)
            await cache.WriteAsync(Key(slice), Data(Key(slice)), default);

        var onDisk = Directory.GetFiles(DiskDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(onDisk <= limit, $"{onDisk} bytes on disk, limit {limit}");
        Assert.Equal(2, cache.Stats.DiskBlocks);
        Assert.Equal(8, cache.Stats.DiskEvictions);
    }

    [Fact]
    public async Task ADamagedDiskCacheFileIsDroppedAndTheBlockFetchedAgain()
    {
        var key = Key(60);
        await using (var first = NewCache(disk: true))
            await first.WriteAsync(key, Data(key), default);
        var file = Assert.Single(Directory.GetFiles(DiskDir, "*", SearchOption.AllDirectories));
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);

        await using (var second = NewCache(memoryBytes: 0, disk: true))
        {
            Assert.Equal(Data(key), await ReadAll(second, key));
            Assert.Equal(1, Store.Gets);
            Assert.Equal(1, second.Stats.DiskCorruptions);
        }

        // The fetched block replaced the damaged file.
        await using var third = NewCache(memoryBytes: 0, disk: true);
        Assert.Equal(Data(key), await ReadAll(third, key));
        Assert.Equal(1, Store.Gets);
    }

    [Fact]
    public async Task AStoreOutageFailsReadsWithoutPoisoningTheCache()
    {
        var key = Key(70);
        await StoreBlock(key);
        await using var cache = NewCache(disk: true);
        Store.Failing = true;
        var readers = Enumerable.Range(0, 4).Select(_ => ReadAll(cache, key)).ToArray();
        foreach (var reader in readers)
            await Assert.ThrowsAsync<IOException>(() => reader);
        Assert.Equal(0, cache.Stats.MemoryBlocks);
        Assert.Equal(0, cache.Stats.DiskBlocks);

        Store.Failing = false;
        Assert.Equal(Data(key), await ReadAll(cache, key));
    }

    [Fact]
    public async Task AFailedUploadFailsTheWriteAndCachesNothing()
    {
        var key = Key(80);
        await using var cache = NewCache(disk: true);
        Store.Failing = true;
        await Assert.ThrowsAsync<IOException>(async () => await cache.WriteAsync(key, Data(key), default));
        Store.Failing = false;
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => ReadAll(cache, key));
    }

    [Fact]
    public async Task ADamagedObjectInTheStoreIsAnErrorNotWrongData()
    {
        var key = Key(90);
        await StoreBlock(key);
        var stored = await Store.GetAsync(key.ObjectKey, default);
        stored[^1] ^= 1;
        await Store.PutAsync(key.ObjectKey, stored, default);

        await using var cache = NewCache();
        var gets = Store.Gets;
        await Assert.ThrowsAsync<CorruptObjectException>(() => ReadAll(cache, key));
        // Read once more in case the damage was on the way, then given up.
        Assert.Equal(gets + 2, Store.Gets);
    }

    [Fact]
    public async Task A_body_damaged_on_the_way_is_read_again_and_served_whole()
    {
        var key = Key(91);
        await StoreBlock(key);
        await using var cache = NewCache();
        Store.DamagedGets = 1;
        var gets = Store.Gets;

        Assert.Equal(Data(key), await ReadAll(cache, key));
        Assert.Equal(gets + 2, Store.Gets);
        Assert.Equal(Data(key), await ReadAll(cache, key));
        Assert.Equal(gets + 2, Store.Gets);
    }

    [Fact]
    public async Task PrefetchLoadsTheBlockForALaterRead()
    {
        var key = Key(100);
        await StoreBlock(key);
        await using var cache = NewCache();
        cache.Prefetch(key);
        for (var i = 0; i < 500 && cache.Stats.MemoryBlocks == 0; i++)
            await Task.Delay(10);

        Assert.Equal(Data(key), await ReadAll(cache, key));
        Assert.Equal(1, Store.Gets);
        Assert.Equal(1, cache.Stats.MemoryHits);
    }

    [Fact]
    public async Task PrefetchesBeyondTheLimitAreDropped()
    {
        for (ulong slice = 110; slice < 120; slice++)
            await StoreBlock(Key(slice));
        await using var cache = NewCache(maxPrefetches: 2);
        Store.CloseGate();
        for (ulong slice = 110; slice < 120; slice++)
            cache.Prefetch(Key(slice));
        for (var i = 0; i < 500 && Store.Gets < 2; i++)
            await Task.Delay(10);
        await Task.Delay(50); // room for a third request, were one started
        Assert.Equal(2, Store.Gets);
        Assert.Equal(8, cache.Stats.PrefetchesDropped);
        Store.OpenGate();
    }

    [Fact]
    public async Task DeleteRemovesTheBlockFromEveryTierAndTheStore()
    {
        var key = Key(130);
        await using var cache = NewCache(disk: true);
        await cache.WriteAsync(key, Data(key), default);
        await cache.DeleteAsync(key, default);

        Assert.Null(await Store.HeadAsync(key.ObjectKey, default));
        Assert.Equal(0, cache.Stats.DiskBlocks);
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => ReadAll(cache, key));
    }

    [RootFact]
    public async Task TheDiskTierLeavesTheConfiguredShareOfItsFileSystemFree()
    {
        using var small = new SmallFileSystem(8 << 20);
        await File.WriteAllBytesAsync(Path.Combine(small.Path, "other-data"), new byte[3 << 20]);
        var options = new BlockCacheOptions { MemoryBytes = 0, DiskDir = Path.Combine(small.Path, "cache"), DiskMinFreeRatio = 0.5 };
        await using var cache = new BlockCache(Store, Codec, options, NullLogger.Instance);
        for (ulong slice = 140; slice < 160; slice++)
            await cache.WriteAsync(Key(slice, size: 256 << 10), Data(Key(slice, size: 256 << 10)), default);

        var drive = new DriveInfo(small.Path);
        Assert.True(cache.Stats.DiskBlocks > 0);
        Assert.True(drive.AvailableFreeSpace >= drive.TotalSize / 2 - (300 << 10), $"{drive.AvailableFreeSpace} of {drive.TotalSize} free");
        Assert.True(cache.Stats.DiskEvictions > 0);
    }
}

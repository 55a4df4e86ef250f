using Fs.Core.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Tests.Cache;

/// <summary>
/// The memory tier keeps one pass over a lot of data from pushing out what is used again, and from taking fresh memory
/// for every block it reads: blocks read once wait on probation, blocks written or used twice live in the main queue.
/// </summary>
public sealed class MemoryTierTests
{
    private const long Block = 1000;

    private readonly List<int> _released = [];

    /// <summary>A tier of 20 blocks whose probation holds a quarter: 5 blocks (20 / 16 is less than the floor).</summary>
    private MemoryTier<int> NewTier() => new(rememberedCapacity: 100, probationFloor: 5 * Block, _released.Add);

    private static BlockKey Key(int n) => new((ulong)n, 0, (int)Block);

    [Fact]
    public void Probation_takes_a_sixteenth_of_the_limit_at_least_the_floor_and_never_more_than_half()
    {
        var tier = NewTier();
        Assert.Equal(5 * Block, tier.ProbationLimit(20 * Block));
        Assert.Equal(16 * Block, tier.ProbationLimit(256 * Block));
        Assert.Equal(4 * Block, tier.ProbationLimit(8 * Block));
    }

    [Fact]
    public void A_stream_of_blocks_read_once_recycles_probation_and_leaves_the_blocks_written_alone()
    {
        var tier = NewTier();
        for (var n = 0; n < 10; n++)
            tier.Add(Key(n), n, Block, written: true, read: false, 20 * Block);
        for (var n = 100; n < 200; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);

        Assert.Equal(15 * Block, tier.Bytes);
        Assert.Equal(5 * Block, tier.ProbationBytes);
        for (var n = 0; n < 10; n++)
            Assert.True(tier.TryGet(Key(n), out _), $"written block {n} was pushed out by the stream");
        // The newest five of the stream are on probation; the 95 before them were released as they left.
        Assert.True(tier.TryGet(Key(199), out _));
        Assert.False(tier.Contains(Key(194)));
        Assert.Equal(Enumerable.Range(100, 95), _released);
        Assert.Equal(95, tier.Evictions);
    }

    [Fact]
    public void A_block_read_again_after_leaving_probation_joins_the_main_queue_and_outlasts_the_next_stream()
    {
        var tier = NewTier();
        for (var n = 100; n < 120; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);
        Assert.False(tier.Contains(Key(103)));
        Assert.Equal(15, tier.RememberedCount);

        tier.Add(Key(103), 103, Block, written: false, read: true, 20 * Block);
        Assert.Equal(6 * Block, tier.Bytes);
        Assert.Equal(5 * Block, tier.ProbationBytes); // the newest five of the stream; 103 is in the main queue
        for (var n = 200; n < 300; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);
        Assert.True(tier.TryGet(Key(103), out var value));
        Assert.Equal(103, value);
    }

    [Fact]
    public void A_prefetched_block_that_leaves_probation_unread_is_not_remembered()
    {
        var tier = NewTier();
        tier.Add(Key(1), 1, Block, written: false, read: false, 20 * Block);
        tier.Add(Key(2), 2, Block, written: false, read: false, 20 * Block);
        Assert.True(tier.TryGet(Key(2), out _)); // read after all
        for (var n = 100; n < 110; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);

        // Loaded again, the block never read goes back on probation; the one read once counts as used twice.
        tier.Add(Key(1), 1, Block, written: false, read: true, 20 * Block);
        tier.Add(Key(2), 2, Block, written: false, read: true, 20 * Block);
        for (var n = 200; n < 210; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);
        Assert.False(tier.Contains(Key(1)));
        Assert.True(tier.Contains(Key(2)));
    }

    [Fact]
    public void Over_the_limit_the_main_queue_gives_way_while_probation_is_within_its_share()
    {
        var tier = NewTier();
        for (var n = 0; n < 18; n++)
            tier.Add(Key(n), n, Block, written: true, read: false, 20 * Block);
        for (var n = 100; n < 104; n++)
            tier.Add(Key(n), n, Block, written: false, read: true, 20 * Block);

        Assert.Equal(20 * Block, tier.Bytes);
        Assert.False(tier.Contains(Key(0)));
        Assert.False(tier.Contains(Key(1)));
        Assert.True(tier.Contains(Key(100)));

        // Evicting to a lower limit (memory running short) takes probation down to its share of it first.
        Assert.Equal(10 * Block, tier.EvictTo(10 * Block));
        Assert.Equal(10 * Block, tier.Bytes);
        Assert.True(tier.ProbationBytes <= tier.ProbationLimit(10 * Block));
    }

    [Fact]
    public void Clearing_releases_every_block_and_forgets_every_key()
    {
        var tier = NewTier();
        for (var n = 0; n < 12; n++)
            tier.Add(Key(n), n, Block, written: n < 4, read: true, 20 * Block);
        Assert.Equal(3, tier.RememberedCount);

        Assert.Equal(9 * Block, tier.Clear());
        Assert.Equal(0, tier.Bytes);
        Assert.Equal(0, tier.RememberedCount);
        Assert.Equal(12, _released.Count);

        // Nothing is remembered: a block read before the drop starts on probation again.
        tier.Add(Key(5), 5, Block, written: false, read: true, 20 * Block);
        Assert.Equal(Block, tier.ProbationBytes);
    }

    [Fact]
    public void Removing_or_replacing_a_block_is_not_an_eviction()
    {
        var tier = NewTier();
        tier.Add(Key(1), 1, Block, written: true, read: false, 20 * Block);
        tier.Add(Key(1), 11, Block, written: true, read: false, 20 * Block);
        Assert.Equal([1], _released);
        Assert.True(tier.Remove(Key(1), out var value));
        Assert.Equal(11, value);
        Assert.Equal(0, tier.Evictions);
        Assert.Equal(0, tier.Bytes);
    }
}

/// <summary>The memory tier's scan resistance seen through the block cache, on real buffers and a real store.</summary>
public sealed class MemoryTierCacheTests : CacheTestBase
{
    private const int BlockBytes = 64 << 10;

    private static BlockKey Key(int n) => new((ulong)n + 1, 0, BlockBytes);

    private static byte[] Data(BlockKey key)
    {
        var data = new byte[key.Size];
        new Random((int)key.SliceId).NextBytes(data);
        return data;
    }

    private async Task ReadAsync(BlockCache cache, int n)
    {
        var read = new byte[BlockBytes];
        await cache.ReadAsync(Key(n), 0, read, default);
        Assert.True(read.AsSpan().SequenceEqual(Data(Key(n))), $"block {n} read back other bytes");
    }

    [Fact]
    public async Task A_long_cold_read_reuses_a_few_buffers_and_keeps_what_was_written()
    {
        // 16 MiB of memory, probation 1 MiB (a sixteenth): the 200 blocks read (12.5 MiB) would all fit in the tier.
        await using var cache = new BlockCache(Store, Codec, new BlockCacheOptions
        {
            MemoryBytes = 16L << 20,
            BlockBytes = BlockBytes,
            ReadAheadBlocks = 2,
            UploadConcurrency = 4,
        }, NullLogger.Instance);
        for (var n = 0; n < 200; n++)
            await Store.PutAsync(Key(n).ObjectKey, Codec.Encode(Key(n).ObjectKey, Data(Key(n))), default);
        var written = Enumerable.Range(1000, 16).ToArray();
        foreach (var n in written)
        {
            var buffer = cache.Buffers!.Rent();
            Data(Key(n)).CopyTo(buffer.Memory);
            await cache.WriteAsync(Key(n), buffer.Memory, default);
        }
        var allocatedBefore = cache.Buffers!.Allocated;

        for (var n = 0; n < 200; n++)
            await ReadAsync(cache, n);

        // Probation holds about 14 buffers (each a little over a block); with the pool's idle ones, far fewer than 200.
        var allocated = cache.Buffers.Allocated - allocatedBefore;
        Assert.InRange(allocated, 1, 30);
        Assert.True(cache.Stats.MemoryProbationBytes <= 1L << 20, $"{cache.Stats.MemoryProbationBytes} bytes on probation");
        var gets = Store.Gets;
        foreach (var n in written)
            await ReadAsync(cache, n);
        Assert.Equal(gets, Store.Gets);

        // Read again, an early block of the stream is loaded once more, then stays through another pass.
        await ReadAsync(cache, 3);
        Assert.Equal(gets + 1, Store.Gets);
        for (var n = 100; n < 200; n++)
            await ReadAsync(cache, n);
        gets = Store.Gets;
        await ReadAsync(cache, 3);
        Assert.Equal(gets, Store.Gets);
    }
}

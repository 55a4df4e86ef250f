using Fs.Core.Cache;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Tests.Cache;

/// <summary>
/// The memory tier gives memory back while the machine runs short and grows again as it comes free. A machine cannot be
/// made short of memory on demand in a test, so the shortage comes from a gauge that reports what the test says.
/// </summary>
public sealed class MemoryPressureTests : CacheTestBase
{
    private const int BlockSize = 1 << 20;
    private const long Configured = 64L << 20;
    private const long Total = 16L << 30;

    /// <summary>What the tier leaves the machine at <see cref="Total"/>: a sixteenth.</summary>
    private const long Reserve = Total / 16;

    private BlockCache NewCache(IMemoryGauge? gauge = null) =>
        new(Store, Codec, new BlockCacheOptions
        {
            MemoryBytes = Configured,
            UploadConcurrency = 4,
            MemoryGauge = gauge,
            MemoryCheckInterval = TimeSpan.FromMilliseconds(20),
        }, NullLogger.Instance);

    private static BlockKey Key(int n) => new((ulong)n + 1, 0, BlockSize);

    private static byte[] Data(BlockKey key)
    {
        var data = new byte[key.Size];
        new Random((int)key.SliceId).NextBytes(data);
        return data;
    }

    private static async Task FillAsync(BlockCache cache, int from, int count)
    {
        for (var n = from; n < from + count; n++)
            await cache.WriteAsync(Key(n), Data(Key(n)), default);
    }

    /// <summary>Reads a block and says whether it came from the memory tier (no store request).</summary>
    private async Task<bool> ReadFromMemoryAsync(BlockCache cache, int n)
    {
        var gets = Store.Gets;
        var read = new byte[BlockSize];
        await cache.ReadAsync(Key(n), 0, read, default);
        Assert.Equal(Data(Key(n)), read);
        return Store.Gets == gets;
    }

    [Fact]
    public async Task A_shortfall_evicts_the_oldest_blocks_to_make_it_up_and_free_memory_lets_the_tier_grow_back()
    {
        await using var cache = NewCache();
        await FillAsync(cache, 0, 64);
        Assert.Equal(Configured, cache.Stats.MemoryBytes);

        // 16 MiB short of the reserve: 16 blocks go, the oldest first.
        var evicted = cache.AdjustToMemory(new MemoryReading(Total, Reserve - (16L << 20)));
        Assert.Equal(16L << 20, evicted);
        Assert.Equal(48L << 20, cache.MemoryLimit);
        Assert.Equal(48L << 20, cache.Stats.MemoryBytes);
        Assert.Equal(48L << 20, cache.Stats.MemoryLimitBytes);
        Assert.True(await ReadFromMemoryAsync(cache, 63));

        // While the limit holds, new blocks push older ones out instead of growing the tier.
        await FillAsync(cache, 100, 8);
        Assert.Equal(48L << 20, cache.Stats.MemoryBytes);
        Assert.False(await ReadFromMemoryAsync(cache, 0));
        Assert.True(await ReadFromMemoryAsync(cache, 107));

        // However short the machine is, a floor of 32 MiB stays so sequential reads keep working.
        cache.AdjustToMemory(new MemoryReading(Total, 0));
        Assert.Equal(32L << 20, cache.MemoryLimit);
        Assert.InRange(cache.Stats.MemoryBytes, 31L << 20, 32L << 20);

        // Memory comes free: the limit goes back to the configured size (never above it) and the tier fills again.
        Assert.Equal(0, cache.AdjustToMemory(new MemoryReading(Total, Total)));
        Assert.Equal(Configured, cache.MemoryLimit);
        // (Full but for a block: block 0, read once and on probation since, keeps its place and is a few bytes larger
        // than a block written, so the two oldest blocks written made room for it.)
        await FillAsync(cache, 200, 64);
        Assert.InRange(cache.Stats.MemoryBytes, Configured - BlockSize, Configured);
        Assert.Equal(63, cache.Stats.MemoryBlocks);
        Assert.True(await ReadFromMemoryAsync(cache, 202));
    }

    [Fact]
    public async Task Memory_above_the_reserve_is_room_to_grow_into_not_a_reason_to_evict()
    {
        await using var cache = NewCache();
        await FillAsync(cache, 0, 32);

        // 8 MiB above the reserve with 32 MiB held: the tier may hold 40 MiB, no more.
        Assert.Equal(0, cache.AdjustToMemory(new MemoryReading(Total, Reserve + (8L << 20))));
        Assert.Equal(40L << 20, cache.MemoryLimit);
        await FillAsync(cache, 100, 16);
        Assert.Equal(40L << 20, cache.Stats.MemoryBytes);
    }

    [Fact]
    public async Task The_watch_reads_the_gauge_on_its_own_and_follows_it_both_ways()
    {
        // A machine whose memory outside the cache leaves `outside` available while the cache holds its full size: what
        // the cache evicts comes back as available memory, as it does once the runtime frees it.
        var outside = Total;
        var gauge = new SettableGauge(null);
        await using var cache = NewCache(gauge);
        gauge.Model = () => new MemoryReading(Total, Volatile.Read(ref outside) + Configured - cache.Stats.MemoryBytes);
        await FillAsync(cache, 0, 64);

        Volatile.Write(ref outside, Reserve - (24L << 20));
        await WaitUntilAsync(() => cache.Stats.MemoryBytes == 40L << 20);

        // The eviction made the shortfall up: later readings (many, at 20 ms) take nothing more.
        var reads = gauge.Reads;
        await WaitUntilAsync(() => gauge.Reads > reads + 10);
        Assert.Equal(40L << 20, cache.Stats.MemoryBytes);

        Volatile.Write(ref outside, Total);
        await WaitUntilAsync(() => cache.MemoryLimit == Configured);
    }

    [Fact]
    public async Task A_shortage_that_lasts_is_made_up_once_per_cooldown_not_on_every_reading()
    {
        await using var cache = NewCache();
        await FillAsync(cache, 0, 64);
        var short8 = new MemoryReading(Total, Reserve - (8L << 20));

        Assert.Equal(8L << 20, cache.AdjustToMemory(short8));
        // The memory has not come back yet (the same reading): nothing more...
        for (var i = 0; i < 3; i++)
            Assert.Equal(0, cache.AdjustToMemory(short8));
        // ...unless the shortage grows, which takes only the growth.
        Assert.Equal(4L << 20, cache.AdjustToMemory(new MemoryReading(Total, Reserve - (12L << 20))));
        Assert.Equal(52L << 20, cache.Stats.MemoryBytes);
        for (var i = 0; i < 4; i++)
            Assert.Equal(0, cache.AdjustToMemory(short8));
        // After the cooldown a shortage still there is taken as real and made up again.
        Assert.Equal(8L << 20, cache.AdjustToMemory(short8));
        Assert.Equal(44L << 20, cache.Stats.MemoryBytes);
    }

    [Fact]
    public async Task A_gauge_that_fails_restores_the_configured_size_and_leaves_the_cache_working()
    {
        var gauge = new SettableGauge(new MemoryReading(Total, Reserve - (16L << 20)));
        await using (var cache = NewCache(gauge))
        {
            // A shortage lowers the limit; then the gauge breaks, and the limit goes back to the configured size.
            await FillAsync(cache, 0, 64);
            await WaitUntilAsync(() => cache.MemoryLimit < Configured);
            var reads = gauge.Reads;
            gauge.Fails = true;
            await WaitUntilAsync(() => gauge.Reads > reads && cache.MemoryLimit == Configured);
            await FillAsync(cache, 100, 64);
            Assert.Equal(Configured, cache.MemoryLimit);
            Assert.Equal(Configured, cache.Stats.MemoryBytes);
            Assert.True(await ReadFromMemoryAsync(cache, 110));
        }

        // A gauge that cannot tell (another platform) is no reason to shrink either.
        var silent = new SettableGauge(null);
        await using var quiet = NewCache(silent);
        await WaitUntilAsync(() => silent.Reads > 2);
        Assert.Equal(Configured, quiet.MemoryLimit);
    }

    [Fact]
    public async Task Dropping_the_memory_tier_empties_it_and_the_next_reads_load_the_same_bytes_from_the_store()
    {
        await using var cache = NewCache();
        await FillAsync(cache, 0, 8);
        Assert.Equal(8L << 20, cache.DropMemory());
        Assert.Equal(0, cache.Stats.MemoryBytes);
        Assert.Equal(0, cache.Stats.MemoryBlocks);
        Assert.Equal(Configured, cache.MemoryLimit);

        Assert.False(await ReadFromMemoryAsync(cache, 3));
        Assert.True(await ReadFromMemoryAsync(cache, 3));
    }

    [Theory]
    [InlineData(1L << 30, 256L << 20)]
    [InlineData(24L << 30, 3L << 30)]
    [InlineData(1L << 40, 16L << 30)]
    [InlineData(0, 256L << 20)]
    public void A_server_gets_an_eighth_of_memory_within_bounds(long total, long expected) =>
        Assert.Equal(expected, FileSystemOptions.MemoryCacheFor(total));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(10);
        }
    }

    private sealed class SettableGauge(MemoryReading? reading) : IMemoryGauge
    {
        private int _reads;

        public MemoryReading? Reading { get; set; } = reading;

        /// <summary>When set, computes each reading instead of <see cref="Reading"/>.</summary>
        public Func<MemoryReading?>? Model { get; set; }

        public bool Fails { get; set; }

        public int Reads => Volatile.Read(ref _reads);

        public MemoryReading? Read()
        {
            Interlocked.Increment(ref _reads);
            return Fails ? throw new IOException("meminfo is unreadable") : Model is { } model ? model() : Reading;
        }
    }
}

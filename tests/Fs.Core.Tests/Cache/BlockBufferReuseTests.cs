using System.Security.Cryptography;
using Fs.Core.Cache;
using Fs.Core.Objects;
using Fs.Core.Tests.Objects;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Tests.Cache;

/// <summary>Full-size blocks live in reusable buffers: reuse must never let one block's bytes show through another.</summary>
public sealed class BlockBufferReuseTests : IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();
    private readonly LocalDirectoryStore _store;

    public BlockBufferReuseTests()
    {
        _store = new LocalDirectoryStore(Path.Combine(_scratch.Path, "objects"));
    }

    public Task InitializeAsync() => _store.CreateAsync(default);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _scratch.Dispose();
    }

    private BlockCache NewCache(BlockCodec codec, int blockBytes, long memoryBytes) =>
        new(_store, codec, new BlockCacheOptions { MemoryBytes = memoryBytes, BlockBytes = blockBytes, UploadConcurrency = 4 }, NullLogger.Instance);

    private static byte[] Data(BlockKey key)
    {
        var data = new byte[key.Size];
        new Random((int)key.SliceId * 31 + key.Index).NextBytes(data);
        return data;
    }

    private static async Task AssertReadsBack(BlockCache cache, BlockKey key)
    {
        var read = new byte[key.Size];
        await cache.ReadAsync(key, 0, read, default);
        Assert.True(read.AsSpan().SequenceEqual(Data(key)), $"block {key.ObjectKey} read back other bytes");
    }

    private async Task StoreBlocks(BlockCodec codec, IEnumerable<BlockKey> keys)
    {
        foreach (var key in keys)
            await _store.PutAsync(key.ObjectKey, codec.Encode(key.ObjectKey, Data(key)), default);
    }

    [Fact]
    public void A_buffer_goes_back_to_its_pool_only_when_its_last_holder_lets_go()
    {
        var pool = new BlockBufferPool(8192, maxIdle: 1);
        var buffer = pool.Rent();
        buffer.Retain();

        buffer.Release();
        Assert.Equal(0, pool.Idle);
        buffer.Release();
        Assert.Equal(1, pool.Idle);
        Assert.Same(buffer, pool.Rent());

        var other = pool.Rent();
        Assert.NotSame(buffer, other);
        buffer.Release();
        other.Release();
        Assert.Equal(1, pool.Idle);
        Assert.Throws<InvalidOperationException>(other.Release);
    }

    [Fact]
    public async Task Full_blocks_read_through_a_small_memory_tier_come_back_intact_and_their_buffers_are_reused()
    {
        const int blockBytes = 256 << 10;
        var codec = new BlockCodec(BlockCompression.None);
        var keys = Enumerable.Range(1, 12).Select(i => new BlockKey((ulong)i, 0, blockBytes)).ToList();
        await StoreBlocks(codec, keys);
        await using var cache = NewCache(codec, blockBytes, memoryBytes: 2 * (blockBytes + 16384));

        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var key in keys)
                await AssertReadsBack(cache, key);
        }

        // Ten evictions per pass returned their buffers: the pool has idle ones, and later loads took them.
        Assert.True(cache.Stats.MemoryEvictions >= 20, $"{cache.Stats.MemoryEvictions} evictions");
        Assert.InRange(cache.Buffers!.Idle, 1, 8);
    }

    [Fact]
    public async Task A_compressed_and_encrypted_block_is_decoded_out_of_the_read_buffer_which_goes_back_at_once()
    {
        const int blockBytes = 64 << 10;
        var codec = new BlockCodec(BlockCompression.Lz4, RandomNumberGenerator.GetBytes(32));
        var key = new BlockKey(7, 0, blockBytes);
        await StoreBlocks(codec, [key]);
        await using var cache = NewCache(codec, blockBytes, memoryBytes: 1 << 20);

        await AssertReadsBack(cache, key);
        Assert.Equal(1, cache.Buffers!.Idle);
        await AssertReadsBack(cache, key);
        Assert.Equal(1, cache.Stats.MemoryHits);
    }

    [Fact]
    public async Task Concurrent_readers_and_writers_through_a_tiny_memory_tier_never_see_another_blocks_bytes()
    {
        const int blockBytes = 64 << 10;
        var codec = new BlockCodec(BlockCompression.None);
        var stored = Enumerable.Range(1, 20).Select(i => new BlockKey((ulong)i, 0, blockBytes)).ToList();
        await StoreBlocks(codec, stored);
        // Three blocks fit: nearly every read evicts one, so buffers are handed back and out again all the time.
        await using var cache = NewCache(codec, blockBytes, memoryBytes: 3 * (blockBytes + 16384));
        var written = new List<BlockKey>();

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var key = new BlockKey((ulong)(1000 + w * 100 + i), 0, blockBytes);
                var buffer = cache.Buffers!.Rent();
                Data(key).CopyTo(buffer.GetSpan());
                await cache.WriteAsync(key, buffer.Memory, default);
                lock (written)
                    written.Add(key);
            }
        }));
        var readers = Enumerable.Range(0, 6).Select(r => Task.Run(async () =>
        {
            var random = new Random(r);
            for (var i = 0; i < 150; i++)
            {
                BlockKey key;
                lock (written)
                    key = written.Count > 0 && random.Next(3) == 0 ? written[random.Next(written.Count)] : stored[random.Next(stored.Count)];
                await AssertReadsBack(cache, key);
            }
        }));

        await Task.WhenAll(writers.Concat(readers));
        Assert.True(cache.Stats.MemoryEvictions > 100, $"{cache.Stats.MemoryEvictions} evictions");
    }

    [Fact]
    public async Task An_acquired_block_keeps_its_bytes_through_eviction_and_its_buffer_is_reused_only_after_release()
    {
        const int blockBytes = 64 << 10;
        var codec = new BlockCodec(BlockCompression.None);
        var keys = Enumerable.Range(1, 10).Select(i => new BlockKey((ulong)i, 0, blockBytes)).ToList();
        await StoreBlocks(codec, keys);
        // Two blocks fit, so the acquired block is evicted while its holder still reads it.
        await using var cache = NewCache(codec, blockBytes, memoryBytes: 2 * (blockBytes + 16384));

        var span = await cache.AcquireAsync(keys[0], 1000, 5000, default);
        Assert.NotNull(span.Owner);
        foreach (var key in keys.Skip(1))
            await AssertReadsBack(cache, key);
        Assert.True(cache.Stats.MemoryEvictions >= 8, $"{cache.Stats.MemoryEvictions} evictions");
        Assert.True(span.Data.Span.SequenceEqual(Data(keys[0]).AsSpan(1000, 5000)), "an acquired block's bytes changed while it was held");

        // The cache has let go of it (evicted): the holder's release is the last one and gives the buffer back.
        var idle = cache.Buffers!.Idle;
        span.Owner!.Release();
        Assert.Equal(idle + 1, cache.Buffers.Idle);
    }

    [Fact]
    public unsafe void Buffers_for_direct_reads_are_huge_page_mappings_given_back_at_once_when_the_pool_keeps_no_more()
    {
        const int blockBytes = 4 << 20;
        var pool = new BlockBufferPool(blockBytes, maxIdle: 1);
        var kept = pool.Rent(hugePages: true);
        var freed = pool.Rent(hugePages: true);

        Assert.True(kept.Mapped);
        // The object starts on a huge-page boundary, so each whole huge page of it can be one.
        fixed (byte* start = kept.ObjectSpace.Span)
            Assert.Equal(0u, (nuint)start % BlockMemory.HugePageBytes);
        Assert.True(kept.Footprint >= blockBytes);
        kept.GetSpan().Fill(0x5A);
        freed.GetSpan().Fill(0xA5);

        kept.Release();
        freed.Release();
        Assert.Equal(1, pool.Idle);
        // The pool kept one; the other's mapping went back to the machine, and touching it is refused, not a crash.
        Assert.Throws<ObjectDisposedException>(() => { _ = freed.GetSpan().Length; });
        Assert.Same(kept, pool.Rent());
        Assert.Equal(0x5A, kept.GetSpan()[blockBytes - 1]);

        // Writers' buffers are arrays, and so is anything smaller than a huge page.
        Assert.False(pool.Rent().Mapped);
        Assert.False(new BlockBufferPool(64 << 10, maxIdle: 1).Rent(hugePages: true).Mapped);
    }

    [Fact]
    public async Task A_block_loaded_whole_lands_in_a_huge_page_buffer_and_reads_back_intact_through_eviction()
    {
        const int blockBytes = 4 << 20;
        var codec = new BlockCodec(BlockCompression.None);
        var keys = Enumerable.Range(1, 4).Select(i => new BlockKey((ulong)i, 0, blockBytes)).ToList();
        await StoreBlocks(codec, keys);
        // One block fits: each load evicts the last one, whose buffer goes back to the pool for the next load.
        await using var cache = NewCache(codec, blockBytes, memoryBytes: blockBytes + (4 << 20));

        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var key in keys)
            {
                var span = await cache.AcquireAsync(key, 0, key.Size, default);
                try
                {
                    Assert.True(span.Owner is { Mapped: true }, "a block read whole did not land in a mapping");
                    Assert.True(span.Data.Span.SequenceEqual(Data(key)), $"block {key.ObjectKey} read back other bytes");
                }
                finally
                {
                    span.Owner?.Release();
                }
            }
        }
        Assert.True(cache.Stats.MemoryEvictions >= 6, $"{cache.Stats.MemoryEvictions} evictions");
        Assert.InRange(cache.Buffers!.Allocated, 1, 3);
    }
}

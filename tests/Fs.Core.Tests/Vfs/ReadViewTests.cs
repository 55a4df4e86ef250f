using Fs.Core.Tests.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>Reads as views of the block cache: the same bytes as a copying read, and every hold let go, also on failure.</summary>
public sealed class ReadViewTests : IDisposable
{
    private const int BlockSize = 64 << 10;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task A_view_that_fails_on_a_missing_block_lets_go_of_the_blocks_it_had_and_the_next_view_reads_right()
    {
        var data = new byte[3 * BlockSize];
        new Random(5).NextBytes(data);
        ulong ino;
        await using (var fs = await SqliteVolume.OpenAsync(_scratch.Path, BlockSize, compactThreshold: 100))
        {
            var (attr, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "three-blocks", 0x1A4, OpenFlags.ReadWrite)).Value;
            ino = attr.Ino;
            Assert.Equal(data.Length, (await fs.WriteAsync(handle, 0, data)).Value);
            Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
        }
        // The first block is the one missing, so the view fails while it still has the other two loading for it.
        var first = Directory.EnumerateFiles(Path.Combine(_scratch.Path, "objects"), $"*_0_{BlockSize}", SearchOption.AllDirectories).Single();
        File.Delete(first);

        await using (var fs = await SqliteVolume.OpenAsync(_scratch.Path, BlockSize, compactThreshold: 100))
        {
            var handle = (await fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadOnly)).Value;
            Assert.Equal(Errno.EIO, (await fs.ReadViewAsync(handle, 0, data.Length)).Error);

            using (var view = (await fs.ReadViewAsync(handle, BlockSize + 1000, 2 * BlockSize - 1000)).Value)
            {
                Assert.Equal(2 * BlockSize - 1000, view.Length);
                var copy = new byte[view.Length];
                view.CopyTo(copy);
                Assert.Equal(data.AsSpan(BlockSize + 1000).ToArray(), copy);
            }
            Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));

            // With the cache emptied, no one holds a buffer any more: a hold the failed view kept would keep one out.
            fs.DropMemoryCache();
            var buffers = fs.BlockBuffers!;
            Assert.True(buffers.Allocated > 0, "the reads took no buffers from the pool");
            Assert.Equal(buffers.Allocated, buffers.Idle);
        }
    }

    [Fact]
    public async Task A_view_past_the_end_is_empty_and_a_view_over_a_hole_is_zeros()
    {
        await using var fs = await SqliteVolume.OpenAsync(_scratch.Path, BlockSize, compactThreshold: 100);
        var (_, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "sparse", 0x1A4, OpenFlags.ReadWrite)).Value;
        Assert.Equal(1, (await fs.WriteAsync(handle, 5L * BlockSize, new byte[] { 7 })).Value);

        using (var hole = (await fs.ReadViewAsync(handle, 10, 3 * BlockSize)).Value)
        {
            Assert.Equal(3 * BlockSize, hole.Length);
            var copy = new byte[hole.Length];
            copy.AsSpan().Fill(1);
            hole.CopyTo(copy);
            Assert.All(copy, b => Assert.Equal(0, b));
        }
        using (var last = (await fs.ReadViewAsync(handle, 5L * BlockSize - 2, 100)).Value)
        {
            var copy = new byte[last.Length];
            last.CopyTo(copy);
            Assert.Equal(new byte[] { 0, 0, 7 }, copy);
        }
        using (var past = (await fs.ReadViewAsync(handle, 6L * BlockSize, 100)).Value)
            Assert.Equal(0, past.Length);
        Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
    }
}

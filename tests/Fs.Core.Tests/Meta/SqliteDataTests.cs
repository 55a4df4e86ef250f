using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

public class SqliteDataTests : SqliteEngineTest
{
    private const long Chunk = VolumeFormat.ChunkSize;

    [Fact]
    public async Task Write_appends_slices_grows_the_file_and_counts_usage()
    {
        var file = await CreateFile(RootIno, "f");
        var a = await Write(file.Ino, 0, 10_000);
        var b = await Write(file.Ino, 4_000, 100);
        var attr = await Attr(file.Ino);
        Assert.Equal(10_000, attr.Size);
        Assert.Equal([a, b], (await Engine.ReadChunkAsync(file.Ino, 0, None)).Value);
        Assert.Equal(12_288, (await Engine.GetUsageAsync(None)).UsedBytes);
        Assert.Equal(1, await Refs(a.Id));
        Assert.NotEqual(a.Id, b.Id);

        var far = await Write(file.Ino, 3 * Chunk + 5, 10);
        Assert.Equal(3 * Chunk + 15, (await Attr(file.Ino)).Size);
        Assert.Equal([far], (await Engine.ReadChunkAsync(file.Ino, 3, None)).Value);
        Assert.Empty((await Engine.ReadChunkAsync(file.Ino, 2, None)).Value);
        var dir = await Mkdir(RootIno, "d");
        Assert.Equal(Errno.EISDIR, (await Engine.ReadChunkAsync(dir.Ino, 0, None)).Error);
        Assert.Equal(Errno.ENOENT, (await Engine.WriteChunkAsync(424242, 0, a, 1, false, None)).Error);
    }

    [Fact]
    public async Task Truncate_then_regrow_reads_zeros_where_old_data_was()
    {
        var file = await CreateFile(RootIno, "f");
        var data = await Write(file.Ino, 0, 8192);
        var second = await Write(file.Ino, Chunk, 100);
        _ = (await Engine.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 1000), None)).Value;
        Assert.Contains(second.Id, await Pending()); // the second chunk went wholly
        Assert.Empty((await Engine.ReadChunkAsync(file.Ino, 1, None)).Value);

        _ = (await Engine.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 8192), None)).Value;
        Assert.Equal([data with { Length = 1000 }, Slice.Hole(1000, 7192)], await Visible(file.Ino, 0));
        Assert.Equal(1, await Refs(data.Id));
        Assert.Equal(8192, (await Engine.GetUsageAsync(None)).UsedBytes);

        _ = (await Engine.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 0), None)).Value;
        Assert.Contains(data.Id, await Pending());
        Assert.Equal(0, (await Engine.GetUsageAsync(None)).UsedBytes);
        Assert.Equal(Errno.EISDIR, (await Engine.SetAttrAsync(Alice, RootIno, new SetAttrRequest(SetAttrMask.Size), None)).Error);
    }

    [Fact]
    public async Task Truncate_updates_times_only_when_the_size_changes()
    {
        var file = await CreateFile(RootIno, "f");
        var before = await Attr(file.Ino);
        await Task.Delay(2);
        var same = (await Engine.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 0), None)).Value;
        Assert.Equal(before.Mtime, same.Mtime);
        var grown = (await Engine.SetAttrAsync(Alice, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 5), None)).Value;
        Assert.True(grown.Mtime > before.Mtime && grown.Ctime > before.Ctime);
        Assert.Equal(Errno.EACCES, (await Engine.SetAttrAsync(Bob, file.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 0), None)).Error);
    }

    [Fact]
    public async Task Copy_file_range_shares_slices_and_counts_references()
    {
        var src = await CreateFile(RootIno, "src");
        var dst = await CreateFile(RootIno, "dst");
        var a = await Write(src.Ino, 0, 1000);
        var b = await Write(src.Ino, 200, 100);
        var copied = (await Engine.CopyFileRangeAsync(Alice, src.Ino, 100, dst.Ino, 5000, 10_000, None)).Value;
        Assert.Equal(900, copied); // short: the source ends at 1000
        Assert.Equal(5900, (await Attr(dst.Ino)).Size);
        Assert.Equal(3, await Refs(a.Id)); // a shows through twice around b: two more references
        Assert.Equal(2, await Refs(b.Id));
        Assert.Equal(
        [
            Slice.Hole(0, 5000),
            new Slice(a.Id, 1000, 100, 100, 5000),
            new Slice(b.Id, 100, 0, 100, 5100),
            new Slice(a.Id, 1000, 300, 700, 5200),
        ], await Visible(dst.Ino, 0));

        // Deleting the source leaves the shared slices alive; deleting both queues them.
        await Engine.UnlinkAsync(Alice, RootIno, "src", None);
        Assert.Equal(2, await Refs(a.Id));
        Assert.Empty(await Pending());
        await Engine.UnlinkAsync(Alice, RootIno, "dst", None);
        Assert.Equal([a.Id, b.Id], (await Pending()).Order());
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Copy_file_range_edge_cases()
    {
        var f = await CreateFile(RootIno, "f");
        await Write(f.Ino, 0, 1000);
        Assert.Equal(Errno.EINVAL, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 0, f.Ino, 500, 600, None)).Error);
        Assert.Equal(400, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 0, f.Ino, 600, 400, None)).Value);
        Assert.Equal(0, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 5000, f.Ino, 0, 10, None)).Value);
        Assert.Equal(Errno.EISDIR, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 0, RootIno, 0, 10, None)).Error);
        Assert.Equal(Errno.ENOENT, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 0, 999_999, 0, 10, None)).Error);
        // Copying a range across a chunk boundary splits it over two destination chunks.
        var g = await CreateFile(RootIno, "g");
        Assert.Equal(1000, (await Engine.CopyFileRangeAsync(Alice, f.Ino, 0, g.Ino, Chunk - 300, 1000, None)).Value);
        Assert.Equal(Chunk + 700, (await Attr(g.Ino)).Size);
        Assert.Equal(700u, (await Visible(g.Ino, 1)).Sum(s => (long)s.Length));
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Fallocate_modes()
    {
        var f = await CreateFile(RootIno, "f");
        var data = await Write(f.Ino, 0, 4096);
        Assert.Equal(Errno.EINVAL, (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.Default, 0, 0, None)).Error);
        Assert.Equal(Errno.EOPNOTSUPP, (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.PunchHole, 0, 10, None)).Error);
        Assert.Equal(Errno.EISDIR, (await Engine.FallocateAsync(Alice, RootIno, FallocateMode.Default, 0, 10, None)).Error);
        Assert.Equal(4096, (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.KeepSize, 0, 100_000, None)).Value.Size);
        Assert.Equal(100_000, (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.Default, 0, 100_000, None)).Value.Size);

        _ = (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.PunchHole | FallocateMode.KeepSize, 100, 200, None)).Value;
        var visible = await Visible(f.Ino, 0);
        Assert.Equal([data with { Length = 100 }, Slice.Hole(100, 200), data with { Offset = 300, Pos = 300, Length = 3796 }], visible.Take(3));

        var zeroed = (await Engine.FallocateAsync(Alice, f.Ino, FallocateMode.ZeroRange, 0, 200_000, None)).Value;
        Assert.Equal(200_000, zeroed.Size);
        Assert.Equal([Slice.Hole(0, 200_000)], await Visible(f.Ino, 0));
    }

    [Fact]
    public async Task Replace_slices_only_when_the_chunk_is_unchanged()
    {
        var f = await CreateFile(RootIno, "f");
        var a = await Write(f.Ino, 0, 100);
        var b = await Write(f.Ino, 50, 100);
        var compacted = new Slice(await Engine.NewSliceIdAsync(None), 150, 0, 150, 0);
        Assert.False(await Engine.ReplaceSlicesAsync(f.Ino, 0, [b], [compacted], None));
        var late = await Write(f.Ino, 10, 5);
        Assert.True(await Engine.ReplaceSlicesAsync(f.Ino, 0, [a, b], [compacted], None));
        Assert.Equal([compacted, late], (await Engine.ReadChunkAsync(f.Ino, 0, None)).Value);
        Assert.Equal([a.Id, b.Id], (await Pending()).Order());
        Assert.Equal(1, await Refs(compacted.Id));
        await Engine.ConfirmSliceDeletedAsync(a.Id, a.Size, None);
        Assert.Equal([b.Id], await Pending());
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task Slice_ids_are_unique_and_survive_reopen()
    {
        var ids = new HashSet<ulong>();
        for (var i = 0; i < 2500; i++)
            Assert.True(ids.Add(await Engine.NewSliceIdAsync(None)));
        await ReopenAsync();
        Assert.DoesNotContain(await Engine.NewSliceIdAsync(None), ids);
    }

    [Fact]
    public async Task Scan_chunks_pages_through_everything()
    {
        var f = await CreateFile(RootIno, "f");
        for (var i = 0; i < 1500; i++)
            await Write(f.Ino, i * Chunk, 1);
        var seen = new List<uint>();
        await foreach (var chunk in Engine.ScanChunksAsync(None))
            seen.Add(chunk.Index);
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (uint)i), seen);
    }
}

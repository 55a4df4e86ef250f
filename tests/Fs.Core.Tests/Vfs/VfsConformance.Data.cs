using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>File data: read/write, flush/fsync/release, unlink while open, fallocate, copy_file_range, visibility.</summary>
public abstract partial class VfsConformance
{
    // ---- read / write ----

    [Fact]
    public async Task Writes_at_offsets_across_block_edges_read_back_exactly()
    {
        var expected = Pattern(3 * BlockSize + 100, 1);
        var file = await NewFileAsync(Root, "f", expected);
        var handle = await OpenAsync(file.Ino);
        // Overwrites that straddle block edges, one inside a block, one a single byte at an edge.
        var patches = new (long Offset, byte[] Data)[]
        {
            (BlockSize - 1000, Pattern(2000, 2)),
            (2L * BlockSize - 1, Pattern(1, 3)),
            (500, Pattern(10_000, 4)),
            (3L * BlockSize - 5, Pattern(50, 5)),
        };
        foreach (var (offset, data) in patches)
        {
            await WriteAsync(handle, offset, data);
            data.CopyTo(expected, offset);
        }

        Assert.Equal(expected, await ReadAsync(handle, 0, expected.Length + 10));
        Assert.Equal(expected[(BlockSize - 10)..(BlockSize + 10)], await ReadAsync(handle, BlockSize - 10, 20));
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(expected, await ReadAllAsync(file.Ino));
        Assert.Equal(expected.Length, (await AttrAsync(file.Ino)).Size);
    }

    [Fact]
    public async Task Reads_at_or_past_the_end_return_what_is_there()
    {
        var file = await NewFileAsync(Root, "f", Pattern(1000));
        var handle = await OpenAsync(file.Ino, OpenFlags.ReadOnly);
        var buffer = new byte[4096];
        Assert.Equal(0, Ok(await Fs.ReadAsync(handle, 1000, buffer), "read at EOF"));
        Assert.Equal(0, Ok(await Fs.ReadAsync(handle, 1_000_000, buffer), "read far past EOF"));
        Assert.Equal(Pattern(1000)[900..], await ReadAsync(handle, 900, 4096));
        Ok(await Fs.ReleaseAsync(handle), "release");
    }

    [Fact]
    public async Task A_write_past_the_end_leaves_a_hole_of_zeros()
    {
        var (attr, handle) = Ok(await Fs.CreateAsync(Caller.Root, Root, "sparse", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create), "create");
        await WriteAsync(handle, 0, Pattern(10, 1));
        const long far = 5_000_000;
        await WriteAsync(handle, far, Pattern(100, 2));
        Assert.Equal(far + 100, (await AttrAsync(attr.Ino)).Size);
        Ok(await Fs.ReleaseAsync(handle), "release");

        var content = await ReadAllAsync(attr.Ino);
        Assert.Equal(far + 100, content.Length);
        Assert.Equal(Pattern(10, 1), content[..10]);
        AssertZeros(content.AsSpan(10, (int)far - 10), "hole");
        Assert.Equal(Pattern(100, 2), content[(int)far..]);
    }

    [Fact]
    public async Task A_read_into_a_used_buffer_zeroes_holes_and_the_tail_no_slice_reaches()
    {
        // Doors read into pooled buffers that still hold an earlier reply: every byte no slice supplies must be zeroed.
        var (attr, handle) = Ok(await Fs.CreateAsync(Caller.Root, Root, "holes", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create), "create");
        await WriteAsync(handle, 0, Pattern(3 * BlockSize, 1));
        await WriteAsync(handle, 5L * BlockSize, Pattern(100, 2));
        Ok(await Fs.FallocateAsync(handle, FallocateMode.PunchHole | FallocateMode.KeepSize, BlockSize + 10, 20), "punch hole");
        Ok(await Fs.SetAttrAsync(Caller.Root, attr.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 7L * BlockSize)), "extend");

        var buffer = new byte[7 * BlockSize];
        Array.Fill(buffer, (byte)0xEE);
        Assert.Equal(buffer.Length, Ok(await Fs.ReadAsync(handle, 0, buffer), "read"));
        Ok(await Fs.ReleaseAsync(handle), "release");

        var expected = new byte[7 * BlockSize];
        Pattern(3 * BlockSize, 1).CopyTo(expected, 0);
        Array.Clear(expected, BlockSize + 10, 20);
        Pattern(100, 2).CopyTo(expected, 5 * BlockSize);
        Assert.Equal(expected, buffer);
    }

    [Fact]
    public async Task Append_handles_write_at_the_end_whatever_the_offset()
    {
        var file = await NewFileAsync(Root, "log", Pattern(100, 1));
        var handle = await OpenAsync(file.Ino, OpenFlags.WriteOnly | OpenFlags.Append);
        await WriteAsync(handle, 0, Pattern(50, 2));
        await WriteAsync(handle, 10, Pattern(30, 3));
        Ok(await Fs.ReleaseAsync(handle), "release");
        byte[] expected = [.. Pattern(100, 1), .. Pattern(50, 2), .. Pattern(30, 3)];
        Assert.Equal(expected, await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Handles_refuse_the_direction_they_were_not_opened_for()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100));
        var reader = await OpenAsync(file.Ino, OpenFlags.ReadOnly);
        var writer = await OpenAsync(file.Ino, OpenFlags.WriteOnly);
        Fails(Errno.EBADF, await Fs.WriteAsync(reader, 0, Pattern(10, 2)), "write on a read-only handle");
        Fails(Errno.EBADF, await Fs.ReadAsync(writer, 0, new byte[10]), "read on a write-only handle");
        Fails(Errno.EBADF, await Fs.FallocateAsync(reader, FallocateMode.Default, 0, 1000), "fallocate on a read-only handle");
        Ok(await Fs.ReleaseAsync(reader), "release reader");
        Ok(await Fs.ReleaseAsync(writer), "release writer");
        Assert.Equal(Pattern(100), await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task A_released_handle_is_EBADF()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100));
        var handle = await OpenAsync(file.Ino);
        Ok(await Fs.ReleaseAsync(handle), "release");
        Fails(Errno.EBADF, await Fs.ReadAsync(handle, 0, new byte[10]), "read after release");
        Fails(Errno.EBADF, await Fs.WriteAsync(handle, 0, Pattern(10)), "write after release");
        Fails(Errno.EBADF, await Fs.ReleaseAsync(handle), "second release");
    }

    [Fact]
    public async Task A_write_updates_size_mtime_and_ctime()
    {
        var file = await NewFileAsync(Root, "f");
        await TickAsync();
        var handle = await OpenAsync(file.Ino);
        await WriteAsync(handle, 0, Pattern(5000));
        var after = await AttrAsync(file.Ino);
        Assert.Equal(5000L, after.Size);
        Assert.True(after.Mtime > file.Mtime, "write bumps mtime");
        Assert.True(after.Ctime > file.Ctime, "write bumps ctime");
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(5000L, (await AttrAsync(file.Ino)).Size);
    }

    [Fact]
    public async Task A_write_by_a_non_root_caller_clears_setuid_and_setgid()
    {
        var file = await NewFileAsync(Root, "f", mode: Oct(6777), caller: Alice);
        var handle = await OpenAsync(file.Ino, OpenFlags.WriteOnly, Bob);
        await WriteAsync(handle, 0, Pattern(10));
        Assert.Equal(Oct(777), (await AttrAsync(file.Ino)).Mode);
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(Oct(777), (await AttrAsync(file.Ino)).Mode);

        var rootsFile = await NewFileAsync(Root, "g", mode: Oct(6777));
        var rootHandle = await OpenAsync(rootsFile.Ino, OpenFlags.WriteOnly);
        await WriteAsync(rootHandle, 0, Pattern(10));
        Ok(await Fs.ReleaseAsync(rootHandle), "release");
        Assert.Equal(Oct(6777), (await AttrAsync(rootsFile.Ino)).Mode);
    }

    [Fact]
    public async Task The_first_write_through_a_create_handle_clears_the_setuid_and_setgid_the_file_was_created_with()
    {
        var (file, handle) = Ok(await Fs.CreateAsync(Alice, Root, "f", Oct(6777), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), "create");
        Assert.Equal(Oct(6777), file.Mode);
        await WriteAsync(handle, 0, Pattern(10));
        Assert.Equal(Oct(777), (await AttrAsync(file.Ino)).Mode);
        Ok(await Fs.ReleaseAsync(handle), "release");

        var (plain, plainHandle) = Ok(await Fs.CreateAsync(Alice, Root, "g", Oct(644), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), "create");
        await WriteAsync(plainHandle, 0, Pattern(10));
        Ok(await Fs.ReleaseAsync(plainHandle), "release");
        Assert.Equal(Oct(644), (await AttrAsync(plain.Ino)).Mode);
        Assert.Equal(10, (await AttrAsync(plain.Ino)).Size);
    }

    // ---- visibility and durability ----

    [Fact]
    public async Task A_write_is_visible_through_another_handle_and_getattr_at_once()
    {
        var file = await NewFileAsync(Root, "f", Pattern(1000, 1));
        var writer = await OpenAsync(file.Ino, OpenFlags.WriteOnly);
        var reader = await OpenAsync(file.Ino, OpenFlags.ReadOnly);
        Assert.Equal(Pattern(1000, 1), await ReadAsync(reader, 0, 2000));

        await WriteAsync(writer, 500, Pattern(BlockSize + 1000, 2));

        Assert.Equal(500L + BlockSize + 1000, (await AttrAsync(file.Ino)).Size);
        Assert.Equal(500L + BlockSize + 1000, (await LookupAsync(Root, "f")).Size);
        var seen = await ReadAsync(reader, 0, BlockSize * 2);
        byte[] expected = [.. Pattern(1000, 1)[..500], .. Pattern(BlockSize + 1000, 2)];
        Assert.Equal(expected, seen);
        Assert.Equal(Pattern(BlockSize + 1000, 2)[..50], await ReadAsync(reader, 500, 50));

        Ok(await Fs.ReleaseAsync(writer), "release writer");
        Ok(await Fs.ReleaseAsync(reader), "release reader");
    }

    [Fact]
    public async Task Flush_and_fsync_succeed_and_the_data_survives_a_restart()
    {
        var flushed = await NewFileAsync(Root, "flushed");
        var synced = await NewFileAsync(Root, "synced");
        var released = await NewFileAsync(Root, "released");

        var h1 = await OpenAsync(flushed.Ino);
        await WriteAsync(h1, 0, Pattern(2 * BlockSize + 7, 1));
        Ok(await Fs.FlushAsync(h1), "flush");
        var h2 = await OpenAsync(synced.Ino);
        await WriteAsync(h2, 100, Pattern(3000, 2));
        Ok(await Fs.FsyncAsync(h2), "fsync");
        Ok(await Fs.FsyncAsync(h2, dataOnly: true), "fdatasync with nothing pending");
        var h3 = await OpenAsync(released.Ino);
        await WriteAsync(h3, 0, Pattern(BlockSize / 2, 3));
        Ok(await Fs.ReleaseAsync(h3), "release");
        Ok(await Fs.ReleaseAsync(h1), "release");
        Ok(await Fs.ReleaseAsync(h2), "release");

        await ReopenAsync();

        Assert.Equal(Pattern(2 * BlockSize + 7, 1), await ReadAllAsync((await LookupAsync(Root, "flushed")).Ino));
        var syncedContent = await ReadAllAsync((await LookupAsync(Root, "synced")).Ino);
        Assert.Equal(3100, syncedContent.Length);
        AssertZeros(syncedContent.AsSpan(0, 100), "before the synced write");
        Assert.Equal(Pattern(3000, 2), syncedContent[100..]);
        Assert.Equal(Pattern(BlockSize / 2, 3), await ReadAllAsync((await LookupAsync(Root, "released")).Ino));
    }

    [Fact]
    public async Task Many_small_writes_to_one_chunk_read_back_after_compaction()
    {
        // Far more slices than the compaction threshold, overlapping each other, then a restart to read from storage only.
        var expected = new byte[BlockSize * 2];
        var file = await NewFileAsync(Root, "f");
        var handle = await OpenAsync(file.Ino);
        var random = new Random(42);
        for (var i = 0; i < CompactThreshold * 6; i++)
        {
            var data = Pattern(random.Next(1, 9000), i);
            var offset = random.Next(0, expected.Length - data.Length);
            await WriteAsync(handle, offset, data);
            data.CopyTo(expected, offset);
            Ok(await Fs.FlushAsync(handle), "flush each write into its own slice");
        }
        Ok(await Fs.ReleaseAsync(handle), "release");
        var size = (int)(await AttrAsync(file.Ino)).Size;
        Assert.Equal(expected[..size], await ReadAllAsync(file.Ino));

        await ReopenAsync();
        Assert.Equal(expected[..size], await ReadAllAsync(file.Ino));
    }

    // ---- unlink while open ----

    [Fact]
    public async Task An_unlinked_open_file_stays_readable_and_writable_until_released()
    {
        var before = Ok(await Fs.StatFsAsync(), "statfs").UsedInodes;
        var file = await NewFileAsync(Root, "f", Pattern(BlockSize + 10, 1));
        var handle = await OpenAsync(file.Ino);

        Ok(await Fs.UnlinkAsync(Caller.Root, Root, "f"), "unlink while open");
        Fails(Errno.ENOENT, await Fs.LookupAsync(Caller.Root, Root, "f"), "the name is gone");

        var orphan = await AttrAsync(file.Ino);
        Assert.Equal(0u, orphan.Nlink);
        Assert.Equal(BlockSize + 10L, orphan.Size);
        Assert.Equal(Pattern(BlockSize + 10, 1), await ReadAsync(handle, 0, 2 * BlockSize));
        await WriteAsync(handle, 5, Pattern(20, 2));
        Ok(await Fs.FsyncAsync(handle), "fsync of an unlinked file");
        Assert.Equal(Pattern(20, 2), await ReadAsync(handle, 5, 20));

        Ok(await Fs.ReleaseAsync(handle), "release the last handle");
        var gone = await Fs.GetAttrAsync(file.Ino);
        Assert.True(gone.Error is Errno.ESTALE or Errno.ENOENT, $"getattr after the last release: expected ESTALE or ENOENT, got {gone}");
        Assert.Equal(before, Ok(await Fs.StatFsAsync(), "statfs").UsedInodes);
    }

    [Fact]
    public async Task A_file_replaced_by_rename_stays_readable_through_its_open_handle()
    {
        await NewFileAsync(Root, "new", Pattern(100, 1));
        var old = await NewFileAsync(Root, "current", Pattern(200, 2));
        var handle = await OpenAsync(old.Ino, OpenFlags.ReadOnly);
        Ok(await Fs.RenameAsync(Caller.Root, Root, "new", Root, "current"), "rename over open file");
        Assert.Equal(Pattern(200, 2), await ReadAsync(handle, 0, 1000));
        Assert.Equal(0u, (await AttrAsync(old.Ino)).Nlink);
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.False((await Fs.GetAttrAsync(old.Ino)).Ok, "the replaced inode is gone after its last release");
        Assert.Equal(Pattern(100, 1), await ReadAllAsync((await LookupAsync(Root, "current")).Ino));
    }

    [Fact]
    public async Task A_file_open_twice_lives_until_the_last_release()
    {
        var file = await NewFileAsync(Root, "f", Pattern(100));
        var first = await OpenAsync(file.Ino, OpenFlags.ReadOnly);
        var second = await OpenAsync(file.Ino, OpenFlags.ReadOnly);
        Ok(await Fs.UnlinkAsync(Caller.Root, Root, "f"), "unlink");
        Ok(await Fs.ReleaseAsync(first), "release first");
        Assert.Equal(Pattern(100), await ReadAsync(second, 0, 1000));
        Ok(await Fs.ReleaseAsync(second), "release second");
        Assert.False((await Fs.GetAttrAsync(file.Ino)).Ok, "gone after the last release");
    }

    // ---- fallocate ----

    [Fact]
    public async Task Fallocate_default_grows_the_file_with_zeros()
    {
        var file = await NewFileAsync(Root, "f", Pattern(1000));
        var handle = await OpenAsync(file.Ino);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.Default, 500, 3 * BlockSize), "fallocate");
        Assert.Equal(500L + 3 * BlockSize, (await AttrAsync(file.Ino)).Size);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.Default, 0, 100), "fallocate inside the file");
        Assert.Equal(500L + 3 * BlockSize, (await AttrAsync(file.Ino)).Size);
        Ok(await Fs.ReleaseAsync(handle), "release");

        var content = await ReadAllAsync(file.Ino);
        Assert.Equal(Pattern(1000), content[..1000]);
        AssertZeros(content.AsSpan(1000), "allocated range");
    }

    [Fact]
    public async Task Fallocate_keep_size_does_not_change_the_size()
    {
        var file = await NewFileAsync(Root, "f", Pattern(1000));
        var handle = await OpenAsync(file.Ino);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.KeepSize, 0, 10 * BlockSize), "fallocate keep size");
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(1000L, (await AttrAsync(file.Ino)).Size);
        Assert.Equal(Pattern(1000), await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Fallocate_punch_hole_zeros_a_range_and_keeps_the_size()
    {
        var data = Pattern(3 * BlockSize);
        var file = await NewFileAsync(Root, "f", data);
        var handle = await OpenAsync(file.Ino);
        // A hole that starts and ends inside blocks, and one past the end of the file (which must not grow it).
        Ok(await Fs.FallocateAsync(handle, FallocateMode.PunchHole | FallocateMode.KeepSize, BlockSize - 100, BlockSize + 200), "punch hole");
        Ok(await Fs.FallocateAsync(handle, FallocateMode.PunchHole | FallocateMode.KeepSize, 3L * BlockSize - 10, 5 * BlockSize), "punch past the end");
        Assert.Equal(3L * BlockSize, (await AttrAsync(file.Ino)).Size);
        var seen = await ReadAsync(handle, 0, 4 * BlockSize);
        Ok(await Fs.ReleaseAsync(handle), "release");

        var expected = (byte[])data.Clone();
        Array.Clear(expected, BlockSize - 100, BlockSize + 200);
        Array.Clear(expected, 3 * BlockSize - 10, 10);
        Assert.Equal(expected, seen);
        Assert.Equal(expected, await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Fallocate_punch_hole_without_keep_size_is_EOPNOTSUPP()
    {
        var file = await NewFileAsync(Root, "f", Pattern(1000));
        var handle = await OpenAsync(file.Ino);
        Fails(Errno.EOPNOTSUPP, await Fs.FallocateAsync(handle, FallocateMode.PunchHole, 0, 100), "punch hole without keep size");
        Ok(await Fs.ReleaseAsync(handle), "release");
        Assert.Equal(Pattern(1000), await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Fallocate_zero_range_zeros_and_may_grow()
    {
        var data = Pattern(2 * BlockSize);
        var file = await NewFileAsync(Root, "f", data);
        var handle = await OpenAsync(file.Ino);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.ZeroRange, 100, BlockSize), "zero range inside");
        Assert.Equal(2L * BlockSize, (await AttrAsync(file.Ino)).Size);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.ZeroRange, 2L * BlockSize - 50, 1000), "zero range past the end");
        Assert.Equal(2L * BlockSize + 950, (await AttrAsync(file.Ino)).Size);
        Ok(await Fs.FallocateAsync(handle, FallocateMode.ZeroRange | FallocateMode.KeepSize, 2L * BlockSize + 900, 5000), "zero range keep size");
        Assert.Equal(2L * BlockSize + 950, (await AttrAsync(file.Ino)).Size);
        Ok(await Fs.ReleaseAsync(handle), "release");

        var expected = new byte[2 * BlockSize + 950];
        data.CopyTo(expected, 0);
        Array.Clear(expected, 100, BlockSize);
        Array.Clear(expected, 2 * BlockSize - 50, 50);
        Assert.Equal(expected, await ReadAllAsync(file.Ino));
    }

    [Fact]
    public async Task Fallocate_of_an_empty_range_is_EINVAL()
    {
        var file = await NewFileAsync(Root, "f");
        var handle = await OpenAsync(file.Ino);
        Fails(Errno.EINVAL, await Fs.FallocateAsync(handle, FallocateMode.Default, 0, 0), "zero length");
        Fails(Errno.EINVAL, await Fs.FallocateAsync(handle, FallocateMode.Default, -1, 10), "negative offset");
        Ok(await Fs.ReleaseAsync(handle), "release");
    }

    // ---- copy_file_range ----

    [Fact]
    public async Task CopyFileRange_copies_content_and_the_copies_stay_independent()
    {
        var original = Pattern(3 * BlockSize + 123, 1);
        var source = await NewFileAsync(Root, "src", original);
        var destination = await NewFileAsync(Root, "dst");
        var src = await OpenAsync(source.Ino);
        var dst = await OpenAsync(destination.Ino);

        Assert.Equal(original.Length, Ok(await Fs.CopyFileRangeAsync(src, 0, dst, 0, original.Length), "copy"));
        Assert.Equal(original.Length, (await AttrAsync(destination.Ino)).Size);
        Assert.Equal(original, await ReadAsync(dst, 0, original.Length + 1));

        // Overwriting the copy must not change the source, and the other way round: shared slices never alias writes.
        await WriteAsync(dst, BlockSize - 10, Pattern(100, 2));
        Ok(await Fs.FlushAsync(dst), "flush dst");
        Assert.Equal(original, await ReadAsync(src, 0, original.Length + 1));
        await WriteAsync(src, 2L * BlockSize, Pattern(300, 3));
        Ok(await Fs.FlushAsync(src), "flush src");
        Ok(await Fs.ReleaseAsync(src), "release src");
        Ok(await Fs.ReleaseAsync(dst), "release dst");

        var expectedSource = (byte[])original.Clone();
        Pattern(300, 3).CopyTo(expectedSource, 2 * BlockSize);
        var expectedCopy = (byte[])original.Clone();
        Pattern(100, 2).CopyTo(expectedCopy, BlockSize - 10);
        Assert.Equal(expectedSource, await ReadAllAsync(source.Ino));
        Assert.Equal(expectedCopy, await ReadAllAsync(destination.Ino));

        Ok(await Fs.UnlinkAsync(Caller.Root, Root, "src"), "unlink source");
        Assert.Equal(expectedCopy, await ReadAllAsync(destination.Ino));
    }

    [Fact]
    public async Task CopyFileRange_at_offsets_is_short_at_the_end_of_the_source()
    {
        var sourceData = Pattern(100_000, 1);
        var destinationData = Pattern(10_000, 2);
        var source = await NewFileAsync(Root, "src", sourceData);
        var destination = await NewFileAsync(Root, "dst", destinationData);
        var src = await OpenAsync(source.Ino, OpenFlags.ReadOnly);
        var dst = await OpenAsync(destination.Ino, OpenFlags.WriteOnly);

        Assert.Equal(1000L, Ok(await Fs.CopyFileRangeAsync(src, 70_000, dst, 5_000, 1000), "copy into the middle"));
        Assert.Equal(20_000L, Ok(await Fs.CopyFileRangeAsync(src, 80_000, dst, 20_000, 1_000_000), "copy past the end of the source"));
        Assert.Equal(0L, Ok(await Fs.CopyFileRangeAsync(src, 200_000, dst, 0, 1000), "copy from past the end"));
        Ok(await Fs.ReleaseAsync(src), "release src");
        Ok(await Fs.ReleaseAsync(dst), "release dst");

        var expected = new byte[40_000];
        destinationData.CopyTo(expected, 0);
        sourceData.AsSpan(70_000, 1000).CopyTo(expected.AsSpan(5_000));
        sourceData.AsSpan(80_000, 20_000).CopyTo(expected.AsSpan(20_000));
        Assert.Equal(expected, await ReadAllAsync(destination.Ino));
        Assert.Equal(sourceData, await ReadAllAsync(source.Ino));
    }

    [Fact]
    public async Task CopyFileRange_sees_unflushed_writes_of_the_source()
    {
        var source = await NewFileAsync(Root, "src");
        var destination = await NewFileAsync(Root, "dst");
        var src = await OpenAsync(source.Ino);
        var dst = await OpenAsync(destination.Ino);
        await WriteAsync(src, 0, Pattern(BlockSize + 500));
        Assert.Equal(BlockSize + 500L, Ok(await Fs.CopyFileRangeAsync(src, 0, dst, 0, BlockSize + 500), "copy of buffered data"));
        Ok(await Fs.ReleaseAsync(src), "release src");
        Ok(await Fs.ReleaseAsync(dst), "release dst");
        Assert.Equal(Pattern(BlockSize + 500), await ReadAllAsync(destination.Ino));
    }
}

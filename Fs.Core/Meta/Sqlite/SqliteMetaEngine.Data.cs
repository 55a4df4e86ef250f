using Fs.Core.Chunks;
using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// Chunks, slices and their reference counts: writes, truncation, fallocate, copy_file_range, compaction, deletion queue.
public sealed partial class SqliteMetaEngine
{
    private const long ChunkSize = ChunkLayout.ChunkSize;

    public async ValueTask<ulong> NewSliceIdAsync(CancellationToken ct)
    {
        if (_sliceIds.TryTake(out var id))
            return id;
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureIds(_sliceIds, 1);
            return _sliceIds.Take();
        }
        finally
        {
            ReleaseWriteLock();
        }
    }

    public ValueTask<Result<IReadOnlyList<Slice>>> ReadChunkAsync(ulong ino, uint chunkIndex, CancellationToken ct) => ReadAsync(c =>
    {
        using var r = c.Query("SELECT i.type, c.slices FROM inodes i LEFT JOIN chunks c ON c.ino = i.ino AND c.idx = ?2 WHERE i.ino = ?1",
            (long)ino, (long)chunkIndex);
        if (!r.Read())
            return Fail<IReadOnlyList<Slice>>(Errno.ENOENT);
        var type = (FileType)r.GetInt64(0);
        if (type != FileType.Regular)
            return Fail<IReadOnlyList<Slice>>(type == FileType.Directory ? Errno.EISDIR : Errno.EINVAL);
        return r.IsDBNull(1) ? Array.Empty<Slice>() : SliceEncoding.Decode(r.GetFieldValue<byte[]>(1));
    }, ct);

    public async ValueTask<Result<InodeAttr>> WriteChunkAsync(ulong ino, uint chunkIndex, Slice slice, long mtime, bool durable, CancellationToken ct)
    {
        if (!ChunkLayout.IsValidWrite(chunkIndex, slice))
            return Errno.EINVAL;
        return await WriteAsync<InodeAttr>(c =>
        {
            var attr = RequireRegular(c, ino);
            AppendSlices(c, ino, chunkIndex, SliceEncoding.Encode(slice));
            if (slice.Id != 0)
                AddRef(c, slice);
            var end = chunkIndex * ChunkSize + slice.End;
            var written = attr with { Size = Math.Max(attr.Size, end), Mtime = mtime, Ctime = mtime };
            AddCounter(c, "used_bytes", ChunkLayout.Usage(written.Size) - ChunkLayout.Usage(attr.Size));
            StoreInode(c, written);
            return written;
        }, ct, durable).ConfigureAwait(false);
    }

    public async ValueTask<Result<InodeAttr>> FallocateAsync(Caller caller, ulong ino, FallocateMode mode, long offset, long length, CancellationToken ct)
    {
        // The order of checks is vfs_fallocate's. Whether the handle is writable (EBADF) is the caller's to check.
        var err = ChunkLayout.CheckFallocate(mode, offset, length);
        if (err != Errno.OK)
            return err;
        var punch = (mode & FallocateMode.PunchHole) != 0;
        var zero = (mode & FallocateMode.ZeroRange) != 0;
        var keepSize = (mode & FallocateMode.KeepSize) != 0;
        return await WriteAsync(c =>
        {
            var attr = RequireInode(c, ino);
            switch (attr.Type)
            {
                case FileType.Fifo:
                    return Fail<InodeAttr>(Errno.ESPIPE);
                case FileType.Directory:
                    return Fail<InodeAttr>(Errno.EISDIR);
                case not FileType.Regular:
                    return Fail<InodeAttr>(Errno.ENODEV);
            }
            if (offset > FsLimits.MaxFileSize - length)
                return Fail<InodeAttr>(Errno.EFBIG);
            var end = offset + length;
            var changed = false;
            if (punch || zero)
            {
                // Holes matter only where a chunk holds data; a missing chunk reads as zeros already.
                var holeEnd = keepSize ? Math.Min(end, attr.Size) : end;
                if (holeEnd > offset)
                    foreach (var (index, pos, n) in ChunkLayout.Split(offset, holeEnd - offset))
                        changed |= c.Execute("UPDATE chunks SET slices = slices || ?3 WHERE ino = ?1 AND idx = ?2",
                            (long)ino, (long)index, SliceEncoding.Encode(Slice.Hole(pos, n))) > 0;
            }
            var size = keepSize ? attr.Size : Math.Max(attr.Size, end);
            if (size == attr.Size && !changed)
                return attr;
            var now = UnixTime.NowNanos();
            var updated = attr with { Size = size, Mtime = now, Ctime = now };
            AddCounter(c, "used_bytes", ChunkLayout.Usage(size) - ChunkLayout.Usage(attr.Size));
            StoreInode(c, updated);
            return updated;
        }, ct).ConfigureAwait(false);
    }

    public async ValueTask<Result<long>> CopyFileRangeAsync(Caller caller, ulong src, long srcOffset, ulong dst, long dstOffset, long length, CancellationToken ct)
    {
        // Handle modes (readable source, writable destination) are the caller's to check, as for read and write.
        if (srcOffset < 0 || dstOffset < 0 || length < 0)
            return Errno.EINVAL;
        return await WriteAsync(c => CopyFileRange(c, src, srcOffset, dst, dstOffset, length), ct).ConfigureAwait(false);
    }

    private static Result<long> CopyFileRange(SqliteMetaConnection c, ulong src, long srcOffset, ulong dst, long dstOffset, long length)
    {
        var source = RequireRegular(c, src);
        var target = src == dst ? source : RequireRegular(c, dst);
        var err = CopyPlan.Check(source, target, srcOffset, dstOffset, length, out var count);
        if (err != Errno.OK)
            return err;
        if (count == 0)
            return 0L;
        var slices = CopyPlan.SourceChunks(srcOffset, count).ToDictionary(index => index, IReadOnlyList<Slice> (index) => LoadSlices(c, src, index));
        var appended = CopyPlan.Build(srcOffset, dstOffset, count, source.Size, slices);
        foreach (var (index, pieces) in appended)
        {
            AppendSlices(c, dst, index, SliceEncoding.Encode(pieces));
            foreach (var piece in pieces)
                if (piece.Id != 0)
                    AddRef(c, piece);
        }
        var now = UnixTime.NowNanos();
        var size = Math.Max(target.Size, dstOffset + count);
        AddCounter(c, "used_bytes", ChunkLayout.Usage(size) - ChunkLayout.Usage(target.Size));
        StoreInode(c, target with { Size = size, Mtime = now, Ctime = now });
        return count;
    }

    public async ValueTask<bool> ReplaceSlicesAsync(ulong ino, uint chunkIndex, IReadOnlyList<Slice> expected, IReadOnlyList<Slice> replacement, CancellationToken ct)
    {
        var result = await WriteAsync(c =>
        {
            var stored = LoadSlices(c, ino, chunkIndex);
            if (stored.Count < expected.Count)
                return false;
            for (var i = 0; i < expected.Count; i++)
                if (stored[i] != expected[i])
                    return false;
            // References of the replacement go up before those of the replaced go down, so a slice in both never touches zero.
            foreach (var slice in replacement)
                if (slice.Id != 0)
                    AddRef(c, slice);
            foreach (var slice in expected)
                if (slice.Id != 0)
                    DropRef(c, slice.Id);
            var updated = new List<Slice>(replacement.Count + stored.Count - expected.Count);
            updated.AddRange(replacement);
            updated.AddRange(stored.Skip(expected.Count));
            if (updated.Count == 0)
                c.Execute("DELETE FROM chunks WHERE ino = ?1 AND idx = ?2", (long)ino, (long)chunkIndex);
            else
                c.Execute("UPDATE chunks SET slices = ?3 WHERE ino = ?1 AND idx = ?2", (long)ino, (long)chunkIndex, SliceEncoding.Encode(updated));
            return new Result<bool>(true);
        }, ct).ConfigureAwait(false);
        return result.Value;
    }

    public ValueTask<IReadOnlyList<SliceRef>> PendingSliceDeletionsAsync(int max, CancellationToken ct) => ReadAsync(c =>
    {
        var pending = new List<SliceRef>();
        using var r = c.Query("SELECT id, size FROM pending_slices ORDER BY id LIMIT ?1", (long)Math.Max(0, max));
        while (r.Read())
            pending.Add(new SliceRef((ulong)r.GetInt64(0), (uint)r.GetInt64(1), 0));
        return (IReadOnlyList<SliceRef>)pending;
    }, ct);

    public async ValueTask ConfirmSliceDeletedAsync(ulong id, uint size, CancellationToken ct)
    {
        await WriteAsync(c => new Result<int>(c.Execute("DELETE FROM pending_slices WHERE id = ?1 AND size = ?2", (long)id, (long)size)), ct)
            .ConfigureAwait(false);
    }

    private static InodeAttr RequireRegular(SqliteMetaConnection c, ulong ino)
    {
        var attr = RequireInode(c, ino);
        return attr.Type switch
        {
            FileType.Regular => attr,
            FileType.Directory => throw new FsException(Errno.EISDIR),
            _ => throw new FsException(Errno.EINVAL),
        };
    }

    private static List<Slice> LoadSlices(SqliteMetaConnection c, ulong ino, uint index)
    {
        var blob = c.Blob("SELECT slices FROM chunks WHERE ino = ?1 AND idx = ?2", (long)ino, (long)index);
        return blob is null ? [] : SliceEncoding.Decode(blob);
    }

    private static void AppendSlices(SqliteMetaConnection c, ulong ino, uint index, byte[] encoded) =>
        c.Execute("INSERT INTO chunks (ino, idx, slices) VALUES (?1, ?2, ?3) ON CONFLICT (ino, idx) DO UPDATE SET slices = slices || excluded.slices",
            (long)ino, (long)index, encoded);

    /// <summary>One more chunk refers to the slice; the first reference creates its count.</summary>
    private static void AddRef(SqliteMetaConnection c, Slice slice) =>
        c.Execute("INSERT INTO slice_refs (id, size, refs) VALUES (?1, ?2, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1",
            (long)slice.Id, (long)slice.Size);

    /// <summary>One reference fewer; at zero the slice joins the queue whose blocks the deleter removes.</summary>
    private static void DropRef(SqliteMetaConnection c, ulong id)
    {
        long refs, size;
        using (var r = c.Query("UPDATE slice_refs SET refs = refs - 1 WHERE id = ?1 RETURNING refs, size", (long)id))
        {
            if (!r.Read())
                return; // no count: already inconsistent, CheckAsync recounts
            refs = r.GetInt64(0);
            size = r.GetInt64(1);
        }
        if (refs > 0)
            return;
        c.Execute("DELETE FROM slice_refs WHERE id = ?1", (long)id);
        c.Execute("INSERT OR IGNORE INTO pending_slices (id, size) VALUES (?1, ?2)", (long)id, size);
    }

    /// <summary>Drops whole chunks from <paramref name="firstIndex"/> on, releasing their slices.</summary>
    private static void DropChunks(SqliteMetaConnection c, ulong ino, long firstIndex)
    {
        var ids = new List<ulong>();
        using (var r = c.Query("SELECT slices FROM chunks WHERE ino = ?1 AND idx >= ?2", (long)ino, firstIndex))
            while (r.Read())
                foreach (var slice in SliceEncoding.Decode(r.GetFieldValue<byte[]>(0)))
                    if (slice.Id != 0)
                        ids.Add(slice.Id);
        c.Execute("DELETE FROM chunks WHERE ino = ?1 AND idx >= ?2", (long)ino, firstIndex);
        foreach (var id in ids)
            DropRef(c, id);
    }

    /// <summary>
    /// Shrinks or grows a regular file's data to <paramref name="size"/> and adjusts the usage counter. Shrinking drops the
    /// chunks wholly past the end and covers the tail of the last one with a hole, so old data cannot reappear on regrowth.
    /// </summary>
    private static void Truncate(SqliteMetaConnection c, InodeAttr attr, long size)
    {
        if (size < attr.Size)
        {
            DropChunks(c, attr.Ino, (size + ChunkSize - 1) / ChunkSize);
            var within = (uint)(size % ChunkSize);
            if (within != 0)
            {
                var index = (uint)(size / ChunkSize);
                if (ChunkLayout.TruncationHole(LoadSlices(c, attr.Ino, index), within) is { } hole)
                    AppendSlices(c, attr.Ino, index, SliceEncoding.Encode(hole));
            }
        }
        AddCounter(c, "used_bytes", ChunkLayout.Usage(size) - ChunkLayout.Usage(attr.Size));
    }
}

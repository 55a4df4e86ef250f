using System.Buffers.Binary;
using System.Globalization;
using Fs.Core.Chunks;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Chunks, slices and their reference counts. A file's chunks are one hash (chunk index -> 24-byte slice records, appended
// to); slice reference counts are one hash keyed by the slice's first 12 bytes (id, size), and slices whose count reached
// zero wait in a set for the deleter.
public sealed partial class RedisMetaEngine
{
    private const long ChunkSize = ChunkLayout.ChunkSize;
    private const int SliceNameBytes = 12;

    public async ValueTask<ulong> NewSliceIdAsync(CancellationToken ct)
    {
        if (_sliceIds.TryTake(out var id))
            return id;
        var db = await DbAsync(ct).ConfigureAwait(false);
        return await TakeIdAsync(db, _sliceIds).ConfigureAwait(false);
    }

    private static RedisValue ChunkField(uint index) => index.ToString(CultureInfo.InvariantCulture);

    private static RedisValue SliceName(Slice slice) => SliceEncoding.Encode(slice).AsMemory(0, SliceNameBytes);

    private static SliceRef DecodeSliceName(ReadOnlySpan<byte> name, long refs) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(name), BinaryPrimitives.ReadUInt32LittleEndian(name[8..]), refs);

    public async ValueTask<Result<IReadOnlyList<Slice>>> ReadChunkAsync(ulong ino, uint chunkIndex, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var attrRead = db.StringGetAsync(InodeKey(ino));
        var slicesRead = db.HashGetAsync(ChunksKey(ino), ChunkField(chunkIndex));
        var attr = DecodeInode(ino, await attrRead.ConfigureAwait(false));
        var slices = await slicesRead.ConfigureAwait(false);
        if (attr is null)
            return Errno.ENOENT;
        if (attr.Type != FileType.Regular)
            return attr.Type == FileType.Directory ? Errno.EISDIR : Errno.EINVAL;
        return slices.IsNull ? Array.Empty<Slice>() : SliceEncoding.Decode(((ReadOnlyMemory<byte>)slices).Span);
    }

    public async ValueTask<Result<InodeAttr>> WriteChunkAsync(ulong ino, uint chunkIndex, Slice slice, long mtime, bool durable, CancellationToken ct)
    {
        if (!ChunkLayout.IsValidWrite(chunkIndex, slice))
            return Errno.EINVAL;
        // Durability is the server's (appendonly / appendfsync): a reply means Redis applied the commit.
        return await MutateAsync<InodeAttr>(async (db, c) =>
        {
            var attr = await RequireRegularAsync(db, c, ino).ConfigureAwait(false);
            AppendSlices(c, ino, chunkIndex, SliceEncoding.Encode(slice));
            AddRef(c, slice);
            var end = chunkIndex * ChunkSize + slice.End;
            var written = attr with { Size = Math.Max(attr.Size, end), Mtime = mtime, Ctime = mtime };
            AddCounter(c, "used_bytes", ChunkLayout.Usage(written.Size) - ChunkLayout.Usage(attr.Size));
            StoreInode(c, written);
            return written;
        }, ct).ConfigureAwait(false);
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
        return await MutateAsync<InodeAttr>(async (db, c) =>
        {
            var attr = await RequireInodeAsync(db, c, ino).ConfigureAwait(false);
            switch (attr.Type)
            {
                case FileType.Fifo:
                    return Errno.ESPIPE;
                case FileType.Directory:
                    return Errno.EISDIR;
                case not FileType.Regular:
                    return Errno.ENODEV;
            }
            if (offset > FsLimits.MaxFileSize - length)
                return Errno.EFBIG;
            var end = offset + length;
            var changed = false;
            if (punch || zero)
            {
                // Holes matter only where a chunk holds data; a missing chunk reads as zeros already.
                var holeEnd = keepSize ? Math.Min(end, attr.Size) : end;
                if (holeEnd > offset)
                {
                    var pieces = ChunkLayout.Split(offset, holeEnd - offset).ToList();
                    var present = await Task.WhenAll(pieces.Select(p => ChunkExistsAsync(db, c, ino, p.Index))).ConfigureAwait(false);
                    for (var i = 0; i < pieces.Count; i++)
                    {
                        if (!present[i])
                            continue;
                        AppendSlices(c, ino, pieces[i].Index, SliceEncoding.Encode(Slice.Hole(pieces[i].Pos, pieces[i].Length)));
                        changed = true;
                    }
                }
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

    private async Task<bool> ChunkExistsAsync(IDatabaseAsync db, RedisCommit c, ulong ino, uint index)
    {
        var key = ChunksKey(ino);
        var exists = await db.HashExistsAsync(key, ChunkField(index)).ConfigureAwait(false);
        c.Guard("HEXISTS", key, ChunkField(index), exists ? "1" : "0");
        return exists;
    }

    public async ValueTask<Result<long>> CopyFileRangeAsync(Caller caller, ulong src, long srcOffset, ulong dst, long dstOffset, long length, CancellationToken ct)
    {
        // Handle modes (readable source, writable destination) are the caller's to check, as for read and write.
        if (srcOffset < 0 || dstOffset < 0 || length < 0)
            return Errno.EINVAL;
        return await MutateAsync((db, c) => CopyFileRangeAsync(db, c, src, srcOffset, dst, dstOffset, length), ct).ConfigureAwait(false);
    }

    private async Task<Result<long>> CopyFileRangeAsync(IDatabaseAsync db, RedisCommit c, ulong src, long srcOffset, ulong dst, long dstOffset, long length)
    {
        var source = await RequireRegularAsync(db, c, src).ConfigureAwait(false);
        var target = src == dst ? source : await RequireRegularAsync(db, c, dst).ConfigureAwait(false);
        var err = CopyPlan.Check(source, target, srcOffset, dstOffset, length, out var count);
        if (err != Errno.OK)
            return err;
        if (count == 0)
            return 0L;
        var slices = new Dictionary<uint, IReadOnlyList<Slice>>();
        foreach (var index in CopyPlan.SourceChunks(srcOffset, count))
            slices[index] = await LoadSlicesAsync(db, c, src, index).ConfigureAwait(false);
        var appended = CopyPlan.Build(srcOffset, dstOffset, count, source.Size, slices);
        foreach (var (index, pieces) in appended)
        {
            AppendSlices(c, dst, index, SliceEncoding.Encode(pieces));
            foreach (var piece in pieces)
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
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var stored = await LoadSlicesAsync(db, c, ino, chunkIndex).ConfigureAwait(false);
            if (stored.Count < expected.Count)
                return false;
            for (var i = 0; i < expected.Count; i++)
                if (stored[i] != expected[i])
                    return false;
            // References of the replacement go up before those of the replaced go down, so a slice in both never touches zero.
            foreach (var slice in replacement)
                AddRef(c, slice);
            foreach (var slice in expected)
                DropRef(c, slice);
            var updated = new List<Slice>(replacement.Count + stored.Count - expected.Count);
            updated.AddRange(replacement);
            updated.AddRange(stored.Skip(expected.Count));
            if (updated.Count == 0)
                c.Op("HDEL", ChunksKey(ino), ChunkField(chunkIndex));
            else
                c.Op("HSET", ChunksKey(ino), ChunkField(chunkIndex), SliceEncoding.Encode(updated));
            return true;
        }, ct).ConfigureAwait(false);
        return result.Ok && result.Value;
    }

    public async ValueTask<IReadOnlyList<SliceRef>> PendingSliceDeletionsAsync(int max, CancellationToken ct)
    {
        if (max <= 0)
            return [];
        var db = await DbAsync(ct).ConfigureAwait(false);
        var members = await db.SetRandomMembersAsync(PendingKey, max).ConfigureAwait(false);
        var pending = members.Select(m => DecodeSliceName(((ReadOnlyMemory<byte>)m).Span, 0)).ToList();
        pending.Sort((a, b) => a.Id.CompareTo(b.Id));
        return pending;
    }

    public async ValueTask ConfirmSliceDeletedAsync(ulong id, uint size, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        await db.SetRemoveAsync(PendingKey, SliceName(new Slice(id, size, 0, 0, 0))).ConfigureAwait(false);
    }

    private async Task<InodeAttr> RequireRegularAsync(IDatabaseAsync db, RedisCommit c, ulong ino)
    {
        var attr = await RequireInodeAsync(db, c, ino).ConfigureAwait(false);
        return attr.Type switch
        {
            FileType.Regular => attr,
            FileType.Directory => throw new FsException(Errno.EISDIR),
            _ => throw new FsException(Errno.EINVAL),
        };
    }

    private async Task<List<Slice>> LoadSlicesAsync(IDatabaseAsync db, RedisCommit c, ulong ino, uint index)
    {
        var key = ChunksKey(ino);
        var value = await db.HashGetAsync(key, ChunkField(index)).ConfigureAwait(false);
        c.Guard("HGET", key, ChunkField(index), value);
        return value.IsNull ? [] : SliceEncoding.Decode(((ReadOnlyMemory<byte>)value).Span);
    }

    private void AppendSlices(RedisCommit c, ulong ino, uint index, byte[] encoded) =>
        c.Op("HAPPEND", ChunksKey(ino), ChunkField(index), encoded);

    /// <summary>One more chunk refers to the slice (holes hold no reference; the script skips them).</summary>
    private void AddRef(RedisCommit c, Slice slice)
    {
        if (slice.Id != 0)
            c.Op("ADDREF", RefsKey, SliceName(slice));
    }

    /// <summary>One reference fewer; at zero the slice joins the queue whose blocks the deleter removes.</summary>
    private void DropRef(RedisCommit c, Slice slice)
    {
        if (slice.Id != 0)
            c.OpWithKeys("DROPREF", RefsKey, RefsKey, PendingKey, SliceName(slice));
    }

    /// <summary>Drops whole chunks from <paramref name="firstIndex"/> on, releasing their slices, inside the commit script.</summary>
    private void DropChunks(RedisCommit c, ulong ino, long firstIndex) =>
        c.OpWithKeys("DROPCHUNKS", ChunksKey(ino), RefsKey, PendingKey, firstIndex);

    /// <summary>
    /// Shrinks or grows a regular file's data to <paramref name="size"/> and adjusts the usage counter. Shrinking drops the
    /// chunks wholly past the end and covers the tail of the last one with a hole, so old data cannot reappear on regrowth.
    /// </summary>
    private async Task TruncateAsync(IDatabaseAsync db, RedisCommit c, InodeAttr attr, long size)
    {
        if (size < attr.Size)
        {
            DropChunks(c, attr.Ino, (size + ChunkSize - 1) / ChunkSize);
            var within = (uint)(size % ChunkSize);
            if (within != 0)
            {
                var index = (uint)(size / ChunkSize);
                if (ChunkLayout.TruncationHole(await LoadSlicesAsync(db, c, attr.Ino, index).ConfigureAwait(false), within) is { } hole)
                    AppendSlices(c, attr.Ino, index, SliceEncoding.Encode(hole));
            }
        }
        AddCounter(c, "used_bytes", ChunkLayout.Usage(size) - ChunkLayout.Usage(attr.Size));
    }
}

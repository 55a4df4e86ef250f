using Fs.Core.Cache;
using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Chunks;

/// <summary>Arithmetic of the data layout: files cut into 64 MiB chunks, slices stored as blocks of the volume's block size. Shared by every metadata engine.</summary>
public readonly record struct ChunkLayout(int BlockSize)
{
    public const int ChunkSize = VolumeFormat.ChunkSize;

    public static uint ChunkIndex(long offset) => (uint)(offset / ChunkSize);

    public static long ChunkStart(uint index) => (long)index * ChunkSize;

    /// <summary>Number of blocks a slice of <paramref name="sliceSize"/> bytes is stored in.</summary>
    public int BlockCount(uint sliceSize) => (int)((sliceSize + (long)BlockSize - 1) / BlockSize);

    /// <summary>The key of block <paramref name="index"/> of a slice; the last block of a slice is shorter than the rest.</summary>
    public BlockKey Block(ulong sliceId, uint sliceSize, int index) =>
        new(sliceId, index, (int)Math.Min(BlockSize, sliceSize - (long)index * BlockSize));

    /// <summary>All block keys of a slice.</summary>
    public IEnumerable<BlockKey> Blocks(ulong sliceId, uint sliceSize)
    {
        var count = BlockCount(sliceSize);
        for (var i = 0; i < count; i++)
            yield return Block(sliceId, sliceSize, i);
    }

    /// <summary>Bytes a file of this length counts against the volume's usage (rounded up to 4 KiB, as statfs blocks are).</summary>
    public static long Usage(long size) => (size + 4095) & ~4095L;

    /// <summary>Splits the byte range [offset, offset + length) into its per-chunk pieces.</summary>
    public static IEnumerable<(uint Index, uint Pos, uint Length)> Split(long offset, long length)
    {
        var end = offset + length;
        while (offset < end)
        {
            var index = offset / ChunkSize;
            var pos = offset % ChunkSize;
            var n = Math.Min(end - offset, ChunkSize - pos);
            yield return ((uint)index, (uint)pos, (uint)n);
            offset += n;
        }
    }

    /// <summary>
    /// The hole to append to the chunk a truncation ends in, so data past <paramref name="newEndInChunk"/> cannot reappear
    /// when the file grows again; null when no slice reaches past it.
    /// </summary>
    public static Slice? TruncationHole(IReadOnlyList<Slice> slices, uint newEndInChunk)
    {
        uint maxEnd = 0;
        foreach (var s in slices)
            maxEnd = Math.Max(maxEnd, s.End);
        return maxEnd > newEndInChunk ? Slice.Hole(newEndInChunk, maxEnd - newEndInChunk) : null;
    }

    /// <summary>Whether a slice can be written to chunk <paramref name="chunkIndex"/>: not empty, inside the chunk, inside its data, below the size limit.</summary>
    public static bool IsValidWrite(uint chunkIndex, Slice slice) =>
        slice.Length != 0 && (ulong)slice.Pos + slice.Length <= ChunkSize
        && (slice.Id == 0 || (ulong)slice.Offset + slice.Length <= slice.Size)
        && (long)chunkIndex * ChunkSize + slice.Pos + slice.Length <= FsLimits.MaxFileSize;

    /// <summary>The argument checks of fallocate(2), in vfs_fallocate's order; the same for every engine.</summary>
    public static Errno CheckFallocate(FallocateMode mode, long offset, long length)
    {
        if (offset < 0 || length <= 0)
            return Errno.EINVAL;
        if ((mode & ~(FallocateMode.KeepSize | FallocateMode.PunchHole | FallocateMode.ZeroRange)) != 0)
            return Errno.EOPNOTSUPP;
        var punch = (mode & FallocateMode.PunchHole) != 0;
        var zero = (mode & FallocateMode.ZeroRange) != 0;
        var keepSize = (mode & FallocateMode.KeepSize) != 0;
        return (punch && zero) || (punch && !keepSize) ? Errno.EOPNOTSUPP : Errno.OK;
    }
}

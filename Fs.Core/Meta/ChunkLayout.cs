namespace Fs.Core.Meta;

/// <summary>Arithmetic of files laid out as 64 MiB chunks, shared by every metadata engine.</summary>
public static class ChunkLayout
{
    public const long ChunkSize = VolumeFormat.ChunkSize;

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
}

using Fs.Core.Cache;
using Fs.Core.Meta;

namespace Fs.Core.Chunks;

/// <summary>Arithmetic of the data layout: files cut into 64 MiB chunks, slices stored as blocks of the volume's block size.</summary>
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
}

using Fs.Core.Cache;
using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Chunks;

/// <summary>Reads file data: resolves each chunk's slices into visible pieces and copies their bytes out of the block cache.</summary>
internal sealed class ChunkReader(IMetaEngine meta, IBlockStore blocks, ChunkLayout layout)
{
    /// <summary>Reads [offset, offset + buffer.Length) clamped to <paramref name="fileSize"/>; returns bytes read.</summary>
    public async ValueTask<int> ReadAsync(ulong ino, long offset, Memory<byte> buffer, long fileSize, CancellationToken ct)
    {
        if (offset >= fileSize || buffer.IsEmpty)
            return 0;
        var total = (int)Math.Min(buffer.Length, fileSize - offset);
        var done = 0;
        List<Task>? reads = null;
        while (done < total)
        {
            var pos = offset + done;
            var chunk = ChunkLayout.ChunkIndex(pos);
            var inChunk = (uint)(pos - ChunkLayout.ChunkStart(chunk));
            var n = (int)Math.Min(total - done, ChunkLayout.ChunkSize - inChunk);
            var target = buffer.Slice(done, n);
            var pieces = await ResolveAsync(ino, chunk, ct).ConfigureAwait(false);
            StartReads(pieces, inChunk, target, ref reads, ct);
            done += n;
        }
        if (reads is not null)
            await Task.WhenAll(reads).ConfigureAwait(false);
        return total;
    }

    /// <summary>Reads bytes [inChunk, inChunk + target.Length) of a chunk whose visible pieces are given.</summary>
    public async Task ReadPiecesAsync(IReadOnlyList<Slice> pieces, uint inChunk, Memory<byte> target, CancellationToken ct)
    {
        List<Task>? reads = null;
        StartReads(pieces, inChunk, target, ref reads, ct);
        if (reads is not null)
            await Task.WhenAll(reads).ConfigureAwait(false);
    }

    /// <summary>Starts loading into the cache the blocks holding [offset, offset + length), clamped to the file size.</summary>
    public async ValueTask PrefetchAsync(ulong ino, long offset, long length, long fileSize, CancellationToken ct)
    {
        var end = Math.Min(offset + length, fileSize);
        while (offset < end)
        {
            var chunk = ChunkLayout.ChunkIndex(offset);
            var inChunk = (uint)(offset - ChunkLayout.ChunkStart(chunk));
            var n = (uint)Math.Min(end - offset, ChunkLayout.ChunkSize - inChunk);
            foreach (var piece in await ResolveAsync(ino, chunk, ct).ConfigureAwait(false))
            {
                if (piece.Id == 0 || piece.End <= inChunk || piece.Pos >= inChunk + n)
                    continue;
                var from = Math.Max(piece.Pos, inChunk);
                var to = Math.Min(piece.End, inChunk + n);
                var first = (int)((piece.Offset + (from - piece.Pos)) / (uint)layout.BlockSize);
                var last = (int)((piece.Offset + (to - piece.Pos) - 1) / (uint)layout.BlockSize);
                for (var b = first; b <= last; b++)
                    blocks.Prefetch(layout.Block(piece.Id, piece.Size, b));
            }
            offset += n;
        }
    }

    /// <summary>The visible pieces of a chunk in position order.</summary>
    public async ValueTask<IReadOnlyList<Slice>> ResolveAsync(ulong ino, uint chunk, CancellationToken ct)
    {
        var slices = await meta.ReadChunkAsync(ino, chunk, ct).ConfigureAwait(false);
        if (!slices.Ok)
            throw new FsException(slices.Error);
        return slices.Value.Count == 0 ? [] : SliceResolver.Resolve(slices.Value, ChunkLayout.ChunkSize);
    }

    /// <summary>
    /// Starts the block reads for the pieces (in position order) and zeroes only what none of them supplies (holes, and
    /// past the last slice): clearing the whole target first would write every byte twice.
    /// </summary>
    private void StartReads(IReadOnlyList<Slice> pieces, uint inChunk, Memory<byte> target, ref List<Task>? reads, CancellationToken ct)
    {
        var n = (uint)target.Length;
        var filled = inChunk;
        foreach (var piece in pieces)
        {
            if (piece.Id == 0 || piece.End <= inChunk || piece.Pos >= inChunk + n)
                continue;
            var from = Math.Max(piece.Pos, inChunk);
            var to = Math.Min(piece.End, inChunk + n);
            if (from > filled)
                target.Span[(int)(filled - inChunk)..(int)(from - inChunk)].Clear();
            filled = to;
            var dataOffset = piece.Offset + (from - piece.Pos);
            var dest = target.Slice((int)(from - inChunk), (int)(to - from));
            foreach (var read in ReadSlice(piece, dataOffset, dest, ct))
                (reads ??= []).Add(read.AsTask());
        }
        if (filled < inChunk + n)
            target.Span[(int)(filled - inChunk)..].Clear();
    }

    private IEnumerable<ValueTask> ReadSlice(Slice piece, uint dataOffset, Memory<byte> dest, CancellationToken ct)
    {
        var bs = (uint)layout.BlockSize;
        while (!dest.IsEmpty)
        {
            var index = (int)(dataOffset / bs);
            var inBlock = (int)(dataOffset % bs);
            var n = (int)Math.Min(bs - (uint)inBlock, (uint)dest.Length);
            yield return blocks.ReadAsync(layout.Block(piece.Id, piece.Size, index), inBlock, dest[..n], ct);
            dest = dest[n..];
            dataOffset += (uint)n;
        }
    }
}

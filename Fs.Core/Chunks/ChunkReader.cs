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
    /// Reads [offset, offset + count) clamped to <paramref name="fileSize"/> as a view of the cached blocks (holes as
    /// zeros): no byte is copied. The blocks are loaded in parallel, as for <see cref="ReadAsync"/>.
    /// </summary>
    public async ValueTask<ReadView> ReadViewAsync(ulong ino, long offset, int count, long fileSize, CancellationToken ct)
    {
        var view = ReadView.Rent();
        if (offset >= fileSize || count <= 0)
            return view;
        var total = (int)Math.Min(count, fileSize - offset);
        var parts = new List<PendingPart>();
        var taken = 0;
        try
        {
            var done = 0;
            while (done < total)
            {
                var pos = offset + done;
                var chunk = ChunkLayout.ChunkIndex(pos);
                var inChunk = (uint)(pos - ChunkLayout.ChunkStart(chunk));
                var n = (uint)Math.Min(total - done, ChunkLayout.ChunkSize - inChunk);
                foreach (var part in Parts(await ResolveAsync(ino, chunk, ct).ConfigureAwait(false), inChunk, n))
                    parts.Add(part.Key is { } key ? new PendingPart(blocks.AcquireAsync(key, part.InBlock, part.Length, ct), 0) : new PendingPart(default, part.Length));
                done += (int)n;
            }
            while (taken < parts.Count)
            {
                var part = parts[taken++];
                if (part.Zeros > 0)
                {
                    view.AddZeros(part.Zeros);
                    continue;
                }
                var span = await part.Block.ConfigureAwait(false);
                view.Add(span.Data, span.Owner);
            }
            return view;
        }
        catch
        {
            // Blocks already loading are held for this read once they arrive: let go of them before failing.
            for (; taken < parts.Count; taken++)
            {
                if (parts[taken].Zeros > 0)
                    continue;
                try
                {
                    (await parts[taken].Block.ConfigureAwait(false)).Owner?.Release();
                }
                catch (Exception)
                {
                    // The first failure is the one reported.
                }
            }
            view.Dispose();
            throw;
        }
    }

    /// <summary>Starts the block reads for the pieces (in position order) and zeroes only what none of them supplies.</summary>
    private void StartReads(IReadOnlyList<Slice> pieces, uint inChunk, Memory<byte> target, ref List<Task>? reads, CancellationToken ct)
    {
        foreach (var part in Parts(pieces, inChunk, (uint)target.Length))
        {
            var dest = target.Slice(part.At, part.Length);
            if (part.Key is { } key)
                (reads ??= []).Add(blocks.ReadAsync(key, part.InBlock, dest, ct).AsTask());
            else
                dest.Span.Clear();
        }
    }

    /// <summary>
    /// Splits bytes [inChunk, inChunk + n) of a chunk with the given visible pieces (in position order) into runs of one
    /// block each and the holes between them (no <see cref="Part.Key"/>), in order. Clearing the holes only, rather than
    /// a whole target first, writes no byte twice.
    /// </summary>
    private IEnumerable<Part> Parts(IReadOnlyList<Slice> pieces, uint inChunk, uint n)
    {
        var bs = (uint)layout.BlockSize;
        var filled = inChunk;
        foreach (var piece in pieces)
        {
            if (piece.Id == 0 || piece.End <= inChunk || piece.Pos >= inChunk + n)
                continue;
            var from = Math.Max(piece.Pos, inChunk);
            var to = Math.Min(piece.End, inChunk + n);
            if (from > filled)
                yield return new Part((int)(filled - inChunk), (int)(from - filled), null, 0);
            filled = to;
            var dataOffset = piece.Offset + (from - piece.Pos);
            var at = from - inChunk;
            var left = to - from;
            while (left > 0)
            {
                var inBlock = dataOffset % bs;
                var length = Math.Min(bs - inBlock, left);
                yield return new Part((int)at, (int)length, layout.Block(piece.Id, piece.Size, (int)(dataOffset / bs)), (int)inBlock);
                at += length;
                dataOffset += length;
                left -= length;
            }
        }
        if (filled < inChunk + n)
            yield return new Part((int)(filled - inChunk), (int)(inChunk + n - filled), null, 0);
    }

    /// <summary>Bytes [At, At + Length) of a read within one chunk: bytes from <see cref="InBlock"/> of a block, or a hole.</summary>
    private readonly record struct Part(int At, int Length, BlockKey? Key, int InBlock);

    /// <summary>A block of a view being loaded, or (<see cref="Zeros"/> above 0) a hole of that many bytes.</summary>
    private readonly record struct PendingPart(ValueTask<BlockSpan> Block, int Zeros);
}

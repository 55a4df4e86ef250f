using Fs.Core.Cache;
using Fs.Core.Meta;
using Fs.Core.Objects;

namespace Fs.Core.Chunks;

/// <summary>
/// One slice being written: bytes [Pos, Pos + Length) of one chunk, buffered block by block. Full blocks are frozen and
/// uploaded in the background as soon as the writer has moved past them; the rest goes up when the slice is finished.
/// </summary>
internal sealed class SliceWriter
{
    /// <summary>
    /// Least buffer a block starts with: a page. A small file's only block is then about as big as the file (a 4 KiB
    /// WebDAV PUT used to take a 64 KiB buffer, which the block cache then kept: sixteen times the memory and the
    /// collector's and the kernel's work of fresh pages for every such upload); a block written in small pieces doubles
    /// its buffer as it grows, so its copies add up to less than the block.
    /// </summary>
    private const int MinBufferBytes = BlockBuffer.Alignment;

    private readonly ChunkLayout _layout;
    private readonly IBlockStore _blocks;
    private readonly BlockBufferPool? _pool;
    private readonly List<BlockBuffer?> _buffers = [];
    private readonly List<Task> _uploads = [];
    private int _frozenBlocks;

    /// <param name="pool">Where full-size block buffers come from; they go on to the block store with the blocks.</param>
    public SliceWriter(ChunkLayout layout, IBlockStore blocks, BlockBufferPool? pool, ulong id, uint chunkIndex, uint pos)
    {
        _layout = layout;
        _blocks = blocks;
        _pool = pool;
        Id = id;
        ChunkIndex = chunkIndex;
        Pos = pos;
    }

    public ulong Id { get; }

    public uint ChunkIndex { get; }

    /// <summary>Where the slice starts inside its chunk.</summary>
    public uint Pos { get; }

    /// <summary>Bytes written so far, contiguous from <see cref="Pos"/>.</summary>
    public uint Length { get; private set; }

    /// <summary>Bytes held in memory by this slice (released as blocks finish uploading).</summary>
    public long BufferedBytes { get; private set; }

    public bool Finished { get; private set; }

    /// <summary>
    /// Whether a write of <paramref name="count"/> bytes at <paramref name="posInChunk"/> can go into this slice: it must
    /// touch only blocks not yet frozen and leave the slice contiguous.
    /// </summary>
    public bool CanTake(uint posInChunk, int count)
    {
        if (Finished || posInChunk < Pos || posInChunk > Pos + Length)
            return false;
        var frozenEnd = (long)_frozenBlocks * _layout.BlockSize;
        return posInChunk - Pos >= frozenEnd && (long)posInChunk + count <= ChunkLayout.ChunkSize;
    }

    public void Write(uint posInChunk, ReadOnlySpan<byte> data)
    {
        var bs = _layout.BlockSize;
        long at = posInChunk - Pos;
        while (!data.IsEmpty)
        {
            var index = (int)(at / bs);
            var inBlock = (int)(at % bs);
            var n = Math.Min(bs - inBlock, data.Length);
            var buffer = EnsureBuffer(index, inBlock + n);
            data[..n].CopyTo(buffer.GetSpan()[inBlock..]);
            data = data[n..];
            at += n;
        }
        if (at > Length)
            Length = (uint)at;
    }

    /// <summary>Freezes and starts uploading every block the slice has fully written and moved past.</summary>
    public void UploadFullBlocks(List<Task> inflight)
    {
        var full = (int)(Length / (uint)_layout.BlockSize);
        // Keep the last full block open while the writer may still be appending inside it.
        if ((long)full * _layout.BlockSize == Length)
            full--;
        while (_frozenBlocks < full)
            StartUpload(_frozenBlocks++, inflight);
    }

    /// <summary>Uploads what is left and waits for every block; returns the slice to commit.</summary>
    public async Task<Slice> FinishAsync(List<Task> inflight, CancellationToken ct)
    {
        if (!Finished)
        {
            Finished = true;
            var count = _layout.BlockCount(Length);
            while (_frozenBlocks < count)
                StartUpload(_frozenBlocks++, inflight);
        }
        await Task.WhenAll(_uploads).WaitAsync(ct).ConfigureAwait(false);
        return new Slice(Id, Length, 0, Length, Pos);
    }

    private void StartUpload(int index, List<Task> inflight)
    {
        var key = _layout.Block(Id, Length, index);
        var buffer = _buffers[index];
        var data = buffer is null ? ReadOnlyMemory<byte>.Empty : buffer.Memory[..key.Size];
        _buffers[index] = null;
        // Encoding (checksumming a whole block) and the store's write run off the writer's path, so the write that
        // filled the block is answered at once and the next one is taken while this block goes out.
        var task = Task.Run(() => UploadAsync(key, data, buffer?.Memory.Length ?? 0));
        _uploads.Add(task);
        inflight.Add(task);
    }

    private async Task UploadAsync(BlockKey key, ReadOnlyMemory<byte> data, int bufferBytes)
    {
        try
        {
            // Uploads outlive the write call that started them; they are awaited (and their failure seen) at commit.
            await _blocks.WriteAsync(key, data, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            lock (_buffers)
                BufferedBytes -= bufferBytes;
        }
    }

    private BlockBuffer EnsureBuffer(int index, int needed)
    {
        while (_buffers.Count <= index)
            _buffers.Add(null);
        var buffer = _buffers[index];
        var capacity = buffer?.Memory.Length ?? 0;
        if (buffer is not null && capacity >= needed)
            return buffer;
        // A slice that has already filled a block is being written sequentially: give later blocks their full size at
        // once instead of growing them step by step. Small random writes keep small buffers.
        int size;
        if (index > 0)
        {
            size = _layout.BlockSize;
        }
        else
        {
            size = capacity == 0 ? RoundUp(Math.Max(needed, MinBufferBytes)) : capacity;
            while (size < needed)
                size *= 2;
            size = Math.Min(size, _layout.BlockSize);
        }
        var grown = _pool is not null && size == _pool.Capacity ? _pool.Rent() : new BlockBuffer(size);
        if (buffer is not null)
        {
            buffer.GetSpan().CopyTo(grown.GetSpan());
            // Only this writer held the smaller buffer (a block is handed on when frozen, not while it grows).
            buffer.Release();
        }
        lock (_buffers)
            BufferedBytes += size - capacity;
        _buffers[index] = grown;
        return grown;
    }

    private static int RoundUp(int bytes) => (bytes + MinBufferBytes - 1) / MinBufferBytes * MinBufferBytes;
}

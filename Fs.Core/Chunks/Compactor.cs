using System.Threading.Channels;
using Fs.Core.Cache;
using Fs.Core.Meta;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Chunks;

/// <summary>
/// Rewrites chunks that have gathered many slices into one slice, in the background, so reads stay cheap. The new slice
/// replaces the old ones only if the chunk's list still starts with them; otherwise the work is dropped.
/// </summary>
internal sealed class Compactor : IAsyncDisposable
{
    private readonly IMetaEngine _meta;
    private readonly IBlockStore _blocks;
    private readonly ChunkLayout _layout;
    private readonly ChunkReader _reader;
    private readonly int _threshold;
    private readonly ILogger _logger;
    private readonly Channel<(ulong Ino, uint Chunk)> _queue = Channel.CreateBounded<(ulong, uint)>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly HashSet<(ulong, uint)> _queued = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;

    public Compactor(IMetaEngine meta, IBlockStore blocks, ChunkLayout layout, int threshold, ILogger logger)
    {
        _meta = meta;
        _blocks = blocks;
        _layout = layout;
        _reader = new ChunkReader(meta, blocks, layout);
        _threshold = threshold;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    public long Compacted { get; private set; }

    /// <summary>Asks for a chunk to be looked at; cheap, deduplicated, never blocks.</summary>
    public void Consider(ulong ino, uint chunk)
    {
        lock (_queued)
        {
            if (!_queued.Add((ino, chunk)))
                return;
        }
        if (!_queue.Writer.TryWrite((ino, chunk)))
            lock (_queued)
                _queued.Remove((ino, chunk));
    }

    /// <summary>Compacts one chunk now if it has more slices than the threshold (or any mergeable slices when forced).</summary>
    public async Task<bool> CompactAsync(ulong ino, uint chunk, bool force, CancellationToken ct)
    {
        var listed = await _meta.ReadChunkAsync(ino, chunk, ct).ConfigureAwait(false);
        if (!listed.Ok)
            return false;
        var slices = listed.Value;
        if (slices.Count <= (force ? 1 : _threshold))
            return false;
        var attr = await _meta.GetAttrAsync(ino, ct).ConfigureAwait(false);
        if (!attr.Ok)
            return false;
        var pieces = SliceResolver.Resolve(slices, ChunkLayout.ChunkSize);
        var chunkStart = ChunkLayout.ChunkStart(chunk);
        var visibleEnd = (uint)Math.Clamp(attr.Value.Size - chunkStart, 0, ChunkLayout.ChunkSize);
        uint start = uint.MaxValue, end = 0;
        foreach (var piece in pieces)
        {
            if (piece.Id == 0 || piece.Pos >= visibleEnd)
                continue;
            start = Math.Min(start, piece.Pos);
            end = Math.Max(end, Math.Min(piece.End, visibleEnd));
        }
        IReadOnlyList<Slice> replacement;
        if (start >= end)
        {
            replacement = [];
        }
        else
        {
            // Everything the old slices show is rewritten as one slice; holes inside it become zeros, which read the same.
            var data = new byte[end - start];
            await _reader.ReadPiecesAsync(pieces, start, data, ct).ConfigureAwait(false);
            var id = await _meta.NewSliceIdAsync(ct).ConfigureAwait(false);
            var uploads = new List<Task>();
            foreach (var key in _layout.Blocks(id, (uint)data.Length))
            {
                var offset = key.Index * _layout.BlockSize;
                uploads.Add(_blocks.WriteAsync(key, data.AsMemory(offset, key.Size), ct).AsTask());
            }
            await Task.WhenAll(uploads).ConfigureAwait(false);
            // The old slices go once the replacement is committed, so it must not be lost to a power failure.
            await _blocks.SyncAsync(ct).ConfigureAwait(false);
            replacement = [new Slice(id, (uint)data.Length, 0, (uint)data.Length, start)];
        }
        if (!await _meta.ReplaceSlicesAsync(ino, chunk, slices, replacement, ct).ConfigureAwait(false))
        {
            // The chunk was truncated or rewritten meanwhile; the new slice was never referenced, so drop its blocks.
            foreach (var s in replacement)
                foreach (var key in _layout.Blocks(s.Id, s.Size))
                    await _blocks.DeleteAsync(key, ct).ConfigureAwait(false);
            return false;
        }
        Compacted++;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        await foreach (var (ino, chunk) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            lock (_queued)
                _queued.Remove((ino, chunk));
            try
            {
                await CompactAsync(ino, chunk, force: false, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "compaction of inode {Ino} chunk {Chunk} failed; it will be retried on the next write", ino, chunk);
            }
        }
    }
}

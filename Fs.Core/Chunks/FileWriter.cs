using Fs.Core.Cache;
using Fs.Core.Meta;
using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Chunks;

/// <summary>
/// The buffered writes of one file in this process, shared by every handle of it. Writes become slices; slices are
/// committed to the metadata engine, in the order they were written, on flush, fsync, release, before a read, or when the
/// buffer grows too large. Callers serialise access through <see cref="Lock"/>.
/// </summary>
internal sealed class FileWriter
{
    private const int MaxPendingSlices = 64;

    private readonly IMetaEngine _meta;
    private readonly IBlockStore _blocks;
    private readonly BlockBufferPool? _pool;
    private readonly ChunkLayout _layout;
    private readonly long _maxBufferedBytes;
    private readonly List<SliceWriter> _pending = [];
    private readonly Dictionary<uint, SliceWriter> _lastInChunk = [];
    private readonly List<Task> _inflight = [];
    private readonly Action<ulong, uint> _committed;

    public FileWriter(ulong ino, IMetaEngine meta, IBlockStore blocks, BlockBufferPool? pool, ChunkLayout layout, long maxBufferedBytes, Action<ulong, uint> committed)
    {
        Ino = ino;
        _meta = meta;
        _blocks = blocks;
        _pool = pool;
        _layout = layout;
        _maxBufferedBytes = maxBufferedBytes;
        _committed = committed;
    }

    public ulong Ino { get; }

    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>Handles of this process that have the file open; the writer is dropped when it reaches zero.</summary>
    public int OpenHandles { get; set; }

    public bool HasPending => _pending.Count > 0;

    /// <summary>End of the highest uncommitted write (0 when nothing is pending).</summary>
    public long PendingLength { get; private set; }

    /// <summary>The file's stored length when a capacity check last read it.</summary>
    public long StoredLength { get; set; }

    /// <summary>The inode's attributes as the engine returned them from the last slice this writer committed.</summary>
    public InodeAttr? LastCommitted { get; private set; }

    /// <summary>Usage the uncommitted writes add beyond <see cref="StoredLength"/>: what the capacity check counts as on its way.</summary>
    public long PendingGrowth => HasPending ? Math.Max(0, ChunkLayout.Usage(PendingLength) - ChunkLayout.Usage(StoredLength)) : 0;

    /// <summary>Time of the last uncommitted write (nanoseconds).</summary>
    public long PendingMtime { get; private set; }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var mtime = UnixTime.NowNanos();
        while (!data.IsEmpty)
        {
            var chunk = ChunkLayout.ChunkIndex(offset);
            var posInChunk = (uint)(offset - ChunkLayout.ChunkStart(chunk));
            var n = (int)Math.Min(data.Length, ChunkLayout.ChunkSize - posInChunk);
            if (!_lastInChunk.TryGetValue(chunk, out var slice) || !slice.CanTake(posInChunk, n))
            {
                if (_pending.Count >= MaxPendingSlices)
                    await CommitAsync(durable: false, ct).ConfigureAwait(false);
                var id = await _meta.NewSliceIdAsync(ct).ConfigureAwait(false);
                slice = new SliceWriter(_layout, _blocks, _pool, id, chunk, posInChunk);
                _pending.Add(slice);
                _lastInChunk[chunk] = slice;
            }
            slice.Write(posInChunk, data.Span[..n]);
            slice.UploadFullBlocks(_inflight);
            data = data[n..];
            offset += n;
            PendingLength = Math.Max(PendingLength, offset);
            PendingMtime = mtime;
            await ThrottleAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Uploads and commits every pending slice, in write order. The last commit is durable when asked.</summary>
    public async ValueTask CommitAsync(bool durable, CancellationToken ct)
    {
        if (_pending.Count == 0)
        {
            if (durable)
            {
                // Earlier commits may point at blocks the store has not made durable yet.
                await _blocks.SyncAsync(ct).ConfigureAwait(false);
                await _meta.SyncAsync(ct).ConfigureAwait(false);
            }
            return;
        }
        var slices = _pending.ToArray();
        try
        {
            var finished = new Task<Slice>[slices.Length];
            for (var i = 0; i < slices.Length; i++)
                finished[i] = slices[i].FinishAsync(_inflight, ct);
            if (durable)
            {
                // Blocks first, then the metadata that points at them: stable data never references a block a power
                // failure could take back.
                await Task.WhenAll(finished).ConfigureAwait(false);
                await _blocks.SyncAsync(ct).ConfigureAwait(false);
            }
            for (var i = 0; i < slices.Length; i++)
            {
                var slice = await finished[i].ConfigureAwait(false);
                var last = i == slices.Length - 1;
                var result = await _meta.WriteChunkAsync(Ino, slices[i].ChunkIndex, slice, PendingMtime, durable && last, ct).ConfigureAwait(false);
                if (!result.Ok)
                    throw new FsException(result.Error, $"commit of slice {slice.Id} to inode {Ino} failed");
                LastCommitted = result.Value;
                _committed(Ino, slices[i].ChunkIndex);
            }
        }
        finally
        {
            // A failed upload or commit loses the pending data: it is dropped (the caller reports EIO) rather than
            // retried forever, so a dead object store cannot pin unbounded memory.
            _pending.Clear();
            _lastInChunk.Clear();
            _inflight.RemoveAll(t => t.IsCompleted);
            PendingLength = 0;
        }
    }

    private async ValueTask ThrottleAsync(CancellationToken ct)
    {
        _inflight.RemoveAll(t => t.IsCompleted);
        long buffered = 0;
        foreach (var s in _pending)
            buffered += s.BufferedBytes;
        if (buffered <= _maxBufferedBytes)
            return;
        if (_inflight.Count > 0)
        {
            // Wait for the oldest uploads: memory held by uploading blocks is what a fast writer piles up.
            await Task.WhenAny(_inflight).WaitAsync(ct).ConfigureAwait(false);
            _inflight.RemoveAll(t => t.IsCompleted);
            return;
        }
        await CommitAsync(durable: false, ct).ConfigureAwait(false);
    }
}

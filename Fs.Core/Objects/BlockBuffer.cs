using System.Buffers;
using System.Runtime.InteropServices;

namespace Fs.Core.Objects;

/// <summary>
/// Memory for a block, laid out so that its stored object can be the same memory: never moving (see
/// <see cref="BlockMemory"/>: huge pages where they help), with room for the codec's plain header in front of the data,
/// and the object's first byte page-aligned so the local store can write and read it with direct I/O.
/// <see cref="MemoryManager{T}.Memory"/> is the data alone.
/// </summary>
/// <remarks>
/// A buffer counts its holders (the writer that fills it, the cache that keeps it, each reader copying out of it). The
/// last one to let go returns a pooled buffer to its pool, or frees it when the pool has enough idle ones. A holder
/// that never lets go costs only the reuse: the buffer is then collected (its mapping unmapped when finalized), so a
/// missed release can waste memory for a while but never hand out live bytes.
/// </remarks>
internal sealed unsafe class BlockBuffer : MemoryManager<byte>
{
    /// <summary>Alignment of the object's first byte: a page, which covers every disk's logical block size.</summary>
    public const int Alignment = 4096;

    private readonly BlockMemory _bytes;
    private readonly int _objectStart;
    private readonly int _length;
    private readonly BlockBufferPool? _pool;
    private int _holders = 1;

    /// <summary>A buffer of its own (not pooled) for <paramref name="length"/> bytes of data.</summary>
    public BlockBuffer(int length)
        : this(length, null, hugePages: false)
    {
    }

    internal BlockBuffer(int length, BlockBufferPool? pool, bool hugePages)
    {
        // Not zeroed: a writer fills every byte it hands on, and the codec and the store only look at those. Two pages
        // of slack: one to align the object's start, one so that an object read whole with direct I/O (whose length
        // is rounded up to a page) fits even with an encrypted block's larger framing.
        _bytes = BlockMemory.Allocate(length + BlockCodec.PlainPrefixBytes + 2 * Alignment, hugePages);
        var misalignment = (int)((nuint)_bytes.Start % Alignment);
        _objectStart = (Alignment - misalignment) % Alignment;
        _length = length;
        _pool = pool;
    }

    /// <summary>Bytes of data the buffer holds.</summary>
    public int Capacity => _length;

    /// <summary>Memory the buffer takes from the machine, for caches that account for it.</summary>
    public long Footprint => _bytes.Footprint;

    /// <summary>Whether the bytes are a mapping of their own (huge pages where the machine has them) rather than an array.</summary>
    internal bool Mapped => _bytes.Mapped;

    private int DataStart => _objectStart + BlockCodec.PlainPrefixBytes;

    /// <summary>The bytes in front of the data where the codec writes a plain block's header and checksum.</summary>
    public Span<byte> Prefix => _bytes.GetSpan().Slice(_objectStart, BlockCodec.PlainPrefixBytes);

    /// <summary>The stored object of a plain block whose first <paramref name="dataLength"/> bytes are the data.</summary>
    public ReadOnlyMemory<byte> Object(int dataLength) => _bytes.Memory.Slice(_objectStart, BlockCodec.PlainPrefixBytes + dataLength);

    /// <summary>
    /// Where a stored object is read to: from the page-aligned start to the end of the buffer. A plain block's data then
    /// lies exactly where <see cref="MemoryManager{T}.Memory"/> says.
    /// </summary>
    public Memory<byte> ObjectSpace => _bytes.Memory[_objectStart..];

    /// <summary>Whether <paramref name="memory"/> lies inside this buffer.</summary>
    public bool Holds(ReadOnlyMemory<byte> memory) => memory.Span.Overlaps(_bytes.GetSpan());

    /// <summary>Adds a holder; only someone already holding the buffer may add one.</summary>
    public void Retain() => Interlocked.Increment(ref _holders);

    /// <summary>
    /// Lets go of the buffer. The last holder of a pooled buffer returns it for reuse; the last holder of one the pool
    /// does not keep (or of one never pooled) gives its memory back to the machine at once.
    /// </summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _holders);
        if (left == 0)
        {
            if (_pool is null || !_pool.Return(this))
                _bytes.Free();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("a block buffer was released more often than it was held");
        }
    }

    /// <summary>Makes a buffer taken from the pool held once, by whoever rented it.</summary>
    internal void Rented() => Volatile.Write(ref _holders, 1);

    public override Span<byte> GetSpan() => _bytes.GetSpan().Slice(DataStart, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        // The bytes never move; handing this out as the pinnable keeps them from being finalized while pinned.
        return new MemoryHandle(_bytes.Start + DataStart + elementIndex, default, this);
    }

    public override void Unpin()
    {
    }

    /// <summary>The data within its array, when the bytes are an array.</summary>
    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        if (MemoryMarshal.TryGetArray<byte>(_bytes.Memory, out var whole))
        {
            segment = new ArraySegment<byte>(whole.Array!, DataStart, _length);
            return true;
        }
        segment = default;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// Full-size block buffers for reuse. A volume reads and writes its blocks through buffers of one size; taking them
/// from here instead of allocating each anew spares the page faults and zeroing of fresh memory and the collector's
/// work, which on a sequential stream cost more CPU than reading the disk. Only a few idle buffers are kept.
/// </summary>
internal sealed class BlockBufferPool(int capacity, int maxIdle)
{
    private readonly Lock _lock = new();
    private readonly Stack<BlockBuffer> _idle = new();
    private long _allocated;

    /// <summary>Data bytes of every buffer of this pool: the volume's block size.</summary>
    public int Capacity { get; } = capacity;

    public int Idle
    {
        get
        {
            lock (_lock)
                return _idle.Count;
        }
    }

    /// <summary>Buffers this pool has allocated so far (rather than handed out again).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    /// <summary>A buffer held once by the caller: an idle one, or else a new one.</summary>
    /// <param name="hugePages">
    /// Whether a new buffer should be a huge-page mapping (see <see cref="BlockMemory"/>): for buffers that a direct
    /// read of a stored block fills, which is what huge pages speed up. A writer's buffer is better an array: fresh
    /// memory is faulted in by its first touch, and on a virtual machine that hands freed memory back to its host (as
    /// this project's test machines do) a fresh huge page costs about twice what as many small pages cost to fault in
    /// (measured: 2.3 s against 1.2 s per GiB), while a writer is paced by its client and the disk, not by its pages.
    /// </param>
    public BlockBuffer Rent(bool hugePages = false)
    {
        lock (_lock)
        {
            if (_idle.TryPop(out var buffer))
            {
                buffer.Rented();
                return buffer;
            }
        }
        Interlocked.Increment(ref _allocated);
        return new BlockBuffer(Capacity, this, hugePages);
    }

    /// <summary>Keeps a buffer nobody holds for reuse; false when enough are idle already (the caller frees it).</summary>
    internal bool Return(BlockBuffer buffer)
    {
        lock (_lock)
        {
            if (_idle.Count >= maxIdle)
                return false;
            _idle.Push(buffer);
            return true;
        }
    }
}

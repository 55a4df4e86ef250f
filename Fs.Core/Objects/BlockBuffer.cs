using System.Buffers;
using System.Runtime.CompilerServices;

namespace Fs.Core.Objects;

/// <summary>
/// Memory for a block, laid out so that its stored object can be the same memory: pinned, with room for the codec's
/// plain header in front of the data, and the object's first byte page-aligned so the local store can write and read
/// it with direct I/O. <see cref="MemoryManager{T}.Memory"/> is the data alone.
/// </summary>
/// <remarks>
/// A buffer counts its holders (the writer that fills it, the cache that keeps it, each reader copying out of it). The
/// last one to let go returns a pooled buffer to its pool. A holder that never lets go costs only the reuse: the
/// buffer is then collected like any array, so a missed release can waste memory but never hand out live bytes.
/// </remarks>
internal sealed unsafe class BlockBuffer : MemoryManager<byte>
{
    /// <summary>Alignment of the object's first byte: a page, which covers every disk's logical block size.</summary>
    public const int Alignment = 4096;

    private readonly byte[] _array;
    private readonly int _objectStart;
    private readonly int _length;
    private readonly BlockBufferPool? _pool;
    private int _holders = 1;

    /// <summary>A buffer of its own (not pooled) for <paramref name="length"/> bytes of data.</summary>
    public BlockBuffer(int length)
        : this(length, null)
    {
    }

    internal BlockBuffer(int length, BlockBufferPool? pool)
    {
        // Not zeroed: a writer fills every byte it hands on, and the codec and the store only look at those. Two pages
        // of slack: one to align the object's start, one so that an object read whole with direct I/O (whose length
        // is rounded up to a page) fits even with an encrypted block's larger framing.
        _array = GC.AllocateUninitializedArray<byte>(length + BlockCodec.PlainPrefixBytes + 2 * Alignment, pinned: true);
        var misalignment = (int)((nuint)Unsafe.AsPointer(ref _array[0]) % Alignment);
        _objectStart = (Alignment - misalignment) % Alignment;
        _length = length;
        _pool = pool;
    }

    /// <summary>Bytes of data the buffer holds.</summary>
    public int Capacity => _length;

    private int DataStart => _objectStart + BlockCodec.PlainPrefixBytes;

    /// <summary>The bytes in front of the data where the codec writes a plain block's header and checksum.</summary>
    public Span<byte> Prefix => _array.AsSpan(_objectStart, BlockCodec.PlainPrefixBytes);

    /// <summary>The stored object of a plain block whose first <paramref name="dataLength"/> bytes are the data.</summary>
    public ReadOnlyMemory<byte> Object(int dataLength) => _array.AsMemory(_objectStart, BlockCodec.PlainPrefixBytes + dataLength);

    /// <summary>
    /// Where a stored object is read to: from the page-aligned start to the end of the buffer. A plain block's data then
    /// lies exactly where <see cref="MemoryManager{T}.Memory"/> says.
    /// </summary>
    public Memory<byte> ObjectSpace => _array.AsMemory(_objectStart);

    /// <summary>Whether <paramref name="memory"/> lies inside this buffer's array.</summary>
    public bool Holds(ReadOnlyMemory<byte> memory) => memory.Span.Overlaps(_array);

    /// <summary>Adds a holder; only someone already holding the buffer may add one.</summary>
    public void Retain() => Interlocked.Increment(ref _holders);

    /// <summary>Lets go of the buffer; the last holder of a pooled buffer returns it for reuse.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _holders);
        if (left == 0)
            _pool?.Return(this);
        else if (left < 0)
            throw new InvalidOperationException("a block buffer was released more often than it was held");
    }

    /// <summary>Makes a buffer taken from the pool held once, by whoever rented it.</summary>
    internal void Rented() => Volatile.Write(ref _holders, 1);

    public override Span<byte> GetSpan() => _array.AsSpan(DataStart, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        // The array lives on the pinned object heap: its address never changes, so no GC handle is needed.
        return new MemoryHandle(Unsafe.AsPointer(ref _array[DataStart + elementIndex]));
    }

    public override void Unpin()
    {
    }

    /// <summary>The data within its array, so that caches account for the whole array the block holds.</summary>
    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        segment = new ArraySegment<byte>(_array, DataStart, _length);
        return true;
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

    /// <summary>A buffer held once by the caller.</summary>
    public BlockBuffer Rent()
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
        return new BlockBuffer(Capacity, this);
    }

    internal void Return(BlockBuffer buffer)
    {
        lock (_lock)
        {
            if (_idle.Count < maxIdle)
                _idle.Push(buffer);
        }
    }
}

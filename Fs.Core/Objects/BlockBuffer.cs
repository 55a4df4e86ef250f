using System.Buffers;
using System.Runtime.CompilerServices;

namespace Fs.Core.Objects;

/// <summary>
/// Memory for a block being written, laid out so that its stored object can be the same memory: pinned, with room for
/// the codec's plain header in front of the data, and the object's first byte page-aligned so the local store can
/// write it with direct I/O. <see cref="MemoryManager{T}.Memory"/> is the data alone.
/// </summary>
internal sealed unsafe class BlockBuffer : MemoryManager<byte>
{
    /// <summary>Alignment of the object's first byte: a page, which covers every disk's logical block size.</summary>
    public const int Alignment = 4096;

    private readonly byte[] _array;
    private readonly int _objectStart;
    private readonly int _length;

    public BlockBuffer(int length)
    {
        // Not zeroed: a writer fills every byte it hands on, and the codec and the store only look at those.
        _array = GC.AllocateUninitializedArray<byte>(length + BlockCodec.PlainPrefixBytes + Alignment, pinned: true);
        var misalignment = (int)((nuint)Unsafe.AsPointer(ref _array[0]) % Alignment);
        _objectStart = (Alignment - misalignment) % Alignment;
        _length = length;
    }

    private int DataStart => _objectStart + BlockCodec.PlainPrefixBytes;

    /// <summary>The bytes in front of the data where the codec writes a plain block's header and checksum.</summary>
    public Span<byte> Prefix => _array.AsSpan(_objectStart, BlockCodec.PlainPrefixBytes);

    /// <summary>The stored object of a plain block whose first <paramref name="dataLength"/> bytes are the data.</summary>
    public ReadOnlyMemory<byte> Object(int dataLength) => _array.AsMemory(_objectStart, BlockCodec.PlainPrefixBytes + dataLength);

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

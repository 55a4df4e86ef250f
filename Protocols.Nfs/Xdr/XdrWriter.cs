using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Protocols.Nfs.Xdr;

/// <summary>
/// Encodes XDR into a buffer rented from <see cref="ArrayPool{T}"/> that grows as needed. Writers are pooled: a reply
/// is built in one, sent, and the writer returned, so the steady state allocates nothing per request.
/// </summary>
public sealed class XdrWriter : IDisposable
{
    private const int InitialSize = 4096;
    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<XdrWriter> Pool = new();
    private static int _pooled;

    private byte[] _buffer;
    private int _position;

    public XdrWriter(int capacity = InitialSize)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    /// <summary>A writer from the pool (or a new one), empty.</summary>
    public static XdrWriter Rent()
    {
        if (Pool.TryDequeue(out var writer))
        {
            Interlocked.Decrement(ref _pooled);
            return writer;
        }
        return new XdrWriter();
    }

    /// <summary>Returns the writer to the pool; large buffers are handed back to the array pool first so idle memory stays small.</summary>
    public void Return()
    {
        _position = 0;
        if (_buffer.Length > 64 * 1024)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        }
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            Pool.Enqueue(this);
            return;
        }
        Interlocked.Decrement(ref _pooled);
        Dispose();
    }

    public int Position
    {
        get => _position;
        set
        {
            if (value < 0 || value > _position)
                throw new ArgumentOutOfRangeException(nameof(value), "a writer can only be rewound");
            _position = value;
        }
    }

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _position);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteInt32(int value) => WriteUInt32((uint)value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);

    public void WriteInt64(long value) => WriteUInt64((ulong)value);

    public void WriteBool(bool value) => WriteUInt32(value ? 1u : 0u);

    public void WriteFixedOpaque(ReadOnlySpan<byte> data)
    {
        data.CopyTo(Reserve(data.Length));
        Pad(data.Length);
    }

    public void WriteOpaque(ReadOnlySpan<byte> data)
    {
        WriteUInt32((uint)data.Length);
        WriteFixedOpaque(data);
    }

    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteUInt32((uint)length);
        Encoding.UTF8.GetBytes(value, Reserve(length));
        Pad(length);
    }

    /// <summary>Overwrites a 4-byte unit written earlier (a count known only after what follows it was written).</summary>
    public void PatchUInt32(int position, uint value)
    {
        if (position < 0 || position + 4 > _position)
            throw new ArgumentOutOfRangeException(nameof(position));
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(position, 4), value);
    }

    /// <summary>Space for <paramref name="count"/> bytes at the end, to be filled in place (READ fills it straight from the file system).</summary>
    public Span<byte> Reserve(int count)
    {
        Ensure(count);
        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    /// <summary>Like <see cref="Reserve"/> but as memory, for asynchronous fills.</summary>
    public Memory<byte> ReserveMemory(int count)
    {
        Ensure(count);
        var memory = _buffer.AsMemory(_position, count);
        _position += count;
        return memory;
    }

    /// <summary>Writes the zero bytes that pad <paramref name="length"/> bytes of opaque data to a 4-byte boundary.</summary>
    public void Pad(int length)
    {
        var padding = XdrReader.Padding(length);
        if (padding > 0)
            Reserve(padding).Clear();
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Ensure(int count)
    {
        if (_position + count <= _buffer.Length)
            return;
        var size = Math.Max(_buffer.Length * 2, _position + count);
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _position).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}

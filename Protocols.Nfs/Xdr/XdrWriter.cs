using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Fs.Core.Vfs;

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
    private ReadView? _tail;

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
        DropTail();
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
            // What is rewritten after a rewind replaces the data that ended the record.
            DropTail();
            _position = value;
        }
    }

    /// <summary>Everything written, the tail copied in first if there is one (see <see cref="AppendTail"/>).</summary>
    public ReadOnlyMemory<byte> WrittenMemory
    {
        get
        {
            FlattenTail();
            return _buffer.AsMemory(0, _position);
        }
    }

    /// <summary>Everything written, the tail copied in first if there is one.</summary>
    public ReadOnlySpan<byte> WrittenSpan => WrittenMemory.Span;

    /// <summary>What was written into the buffer, without the tail: a transport that gathers sends this, then the tail.</summary>
    public ReadOnlyMemory<byte> Head => _buffer.AsMemory(0, _position);

    /// <summary>The data that ends the record without having been copied in, or null.</summary>
    public ReadView? Tail => _tail;

    /// <summary>Bytes the tail adds to the record: its data and the XDR padding after it.</summary>
    public int TailLength => _tail is null ? 0 : _tail.Length + XdrReader.Padding(_tail.Length);

    /// <summary>
    /// Ends the record with the bytes of <paramref name="view"/> (an opaque body whose length was written before it),
    /// then their padding, without copying them: a transport that can gather sends them from where they lie, any other
    /// reads <see cref="WrittenMemory"/>, which copies them in. The writer owns the view from here and disposes it when
    /// it is returned or rewound. Nothing may be written after the tail; earlier units may still be patched.
    /// </summary>
    public void AppendTail(ReadView view)
    {
        if (_tail is not null)
        {
            view.Dispose();
            throw new InvalidOperationException("a record has one tail");
        }
        _tail = view;
    }

    /// <summary>Copies the tail (and its padding) into the buffer, so the record lies in one piece.</summary>
    private void FlattenTail()
    {
        if (_tail is not { } tail)
            return;
        _tail = null;
        try
        {
            tail.CopyTo(ReserveCore(tail.Length));
            PadCore(tail.Length);
        }
        finally
        {
            tail.Dispose();
        }
    }

    private void ThrowIfTailed()
    {
        if (_tail is not null)
            throw new InvalidOperationException("nothing may be written after a record's tail");
    }

    private void DropTail()
    {
        var tail = _tail;
        _tail = null;
        tail?.Dispose();
    }

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
        ThrowIfTailed();
        return ReserveCore(count);
    }

    private Span<byte> ReserveCore(int count)
    {
        Ensure(count);
        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    /// <summary>Like <see cref="Reserve"/> but as memory, for asynchronous fills.</summary>
    public Memory<byte> ReserveMemory(int count)
    {
        ThrowIfTailed();
        Ensure(count);
        var memory = _buffer.AsMemory(_position, count);
        _position += count;
        return memory;
    }

    /// <summary>Writes the zero bytes that pad <paramref name="length"/> bytes of opaque data to a 4-byte boundary.</summary>
    public void Pad(int length)
    {
        ThrowIfTailed();
        PadCore(length);
    }

    private void PadCore(int length)
    {
        var padding = XdrReader.Padding(length);
        if (padding > 0)
            ReserveCore(padding).Clear();
    }

    public void Dispose()
    {
        DropTail();
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

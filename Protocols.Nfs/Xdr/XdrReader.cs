using System.Buffers.Binary;
using System.Text;

namespace Protocols.Nfs.Xdr;

/// <summary>
/// Decodes RFC 4506 XDR from a buffer the caller owns: big-endian 4-byte units, opaque data padded to 4 bytes.
/// Variable-length items are checked against a maximum before anything is allocated, so a hostile length costs nothing.
/// Opaque data comes back as slices of the buffer (no copy), which is how WRITE hands its payload to the file system.
/// </summary>
public struct XdrReader(ReadOnlyMemory<byte> buffer)
{
    private readonly ReadOnlyMemory<byte> _buffer = buffer;
    private int _position;

    public readonly int Position => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public uint ReadUInt32()
    {
        var span = Take(4);
        return BinaryPrimitives.ReadUInt32BigEndian(span.Span);
    }

    public int ReadInt32() => (int)ReadUInt32();

    public ulong ReadUInt64()
    {
        var span = Take(8);
        return BinaryPrimitives.ReadUInt64BigEndian(span.Span);
    }

    public long ReadInt64() => (long)ReadUInt64();

    /// <summary>An XDR bool: exactly 0 or 1, anything else is garbage.</summary>
    public bool ReadBool() => ReadUInt32() switch
    {
        0 => false,
        1 => true,
        var v => throw new XdrException($"bool with value {v}"),
    };

    /// <summary>Fixed-length opaque[n]: n bytes plus padding.</summary>
    public ReadOnlyMemory<byte> ReadFixedOpaque(int length)
    {
        var data = Take(length);
        Skip(Padding(length));
        return data;
    }

    /// <summary>Variable-length opaque&lt;max&gt;.</summary>
    public ReadOnlyMemory<byte> ReadOpaque(int maxLength)
    {
        var length = ReadUInt32();
        if (length > (uint)maxLength)
            throw new XdrException($"opaque of {length} bytes exceeds its limit of {maxLength}");
        return ReadFixedOpaque((int)length);
    }

    /// <summary>A string&lt;max&gt; decoded as UTF-8 (invalid sequences become U+FFFD, as the bytes carry no declared charset).</summary>
    public string ReadString(int maxLength)
    {
        var bytes = ReadOpaque(maxLength);
        return Encoding.UTF8.GetString(bytes.Span);
    }

    public void Skip(int count)
    {
        if (count < 0 || count > Remaining)
            throw new XdrException($"record ends {count - Remaining} bytes early");
        _position += count;
    }

    public static int Padding(int length) => (4 - (length & 3)) & 3;

    private ReadOnlyMemory<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
            throw new XdrException($"record ends {count - Remaining} bytes early");
        var slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }
}

using System.Buffers.Binary;

namespace Fs.Core.Meta;

/// <summary>
/// The compact stored form of a chunk's slice list: 24 bytes per slice (id, size, offset, length, pos; little-endian),
/// so appending a slice is a byte concatenation.
/// </summary>
public static class SliceEncoding
{
    public const int BytesPerSlice = 24;

    public static void Write(Span<byte> destination, Slice slice)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, slice.Id);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], slice.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], slice.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], slice.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], slice.Pos);
    }

    public static byte[] Encode(Slice slice)
    {
        var bytes = new byte[BytesPerSlice];
        Write(bytes, slice);
        return bytes;
    }

    public static byte[] Encode(IReadOnlyList<Slice> slices)
    {
        var bytes = new byte[slices.Count * BytesPerSlice];
        for (var i = 0; i < slices.Count; i++)
            Write(bytes.AsSpan(i * BytesPerSlice), slices[i]);
        return bytes;
    }

    /// <summary>Decodes a stored list; a length that is not a multiple of 24 means a corrupt record and throws.</summary>
    public static List<Slice> Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % BytesPerSlice != 0)
            throw new InvalidDataException($"Slice list of {bytes.Length} bytes is not a multiple of {BytesPerSlice}.");
        var slices = new List<Slice>(bytes.Length / BytesPerSlice);
        for (var at = 0; at < bytes.Length; at += BytesPerSlice)
        {
            var s = bytes[at..];
            slices.Add(new Slice(
                BinaryPrimitives.ReadUInt64LittleEndian(s),
                BinaryPrimitives.ReadUInt32LittleEndian(s[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(s[12..]),
                BinaryPrimitives.ReadUInt32LittleEndian(s[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(s[20..])));
        }
        return slices;
    }
}

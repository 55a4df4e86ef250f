using System.Buffers.Binary;
using System.Security.Cryptography;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

/// <summary>
/// NFSv3 file handles: 40 bytes of format version, volume id, inode number and a MAC over them keyed with the
/// volume's handle key. They depend only on the volume, so they survive restarts and are the same on every appliance
/// serving it; the MAC means a client cannot forge a handle for an inode it never looked up.
/// </summary>
public sealed class Nfs3FileHandles
{
    public const int Size = 40;
    /// <summary>The largest handle RFC 1813 allows; longer opaque data is garbage.</summary>
    public const int MaxSize = 64;

    private const byte FormatVersion = 1;
    private const int VolumeOffset = 4;
    private const int InodeOffset = 20;
    private const int MacOffset = 28;
    private const int MacLength = Size - MacOffset;

    private readonly byte[] _key;
    private readonly byte[] _volume;

    public Nfs3FileHandles(Guid volume, byte[] key)
    {
        if (key.Length == 0)
            throw new ArgumentException("a handle key is required", nameof(key));
        _key = key;
        _volume = volume.ToByteArray(bigEndian: true);
    }

    public void Encode(ulong ino, Span<byte> handle)
    {
        handle = handle[..Size];
        handle[..VolumeOffset].Clear();
        handle[0] = FormatVersion;
        _volume.CopyTo(handle[VolumeOffset..]);
        BinaryPrimitives.WriteUInt64BigEndian(handle[InodeOffset..], ino);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, handle[..MacOffset], mac);
        mac[..MacLength].CopyTo(handle[MacOffset..]);
    }

    /// <summary>Writes the handle as nfs_fh3 (opaque&lt;64&gt;).</summary>
    public void Write(XdrWriter writer, ulong ino)
    {
        writer.WriteUInt32(Size);
        Encode(ino, writer.Reserve(Size));
    }

    /// <summary>The inode a handle names, or false when the handle is not one of ours (wrong size, volume or MAC).</summary>
    public bool TryDecode(ReadOnlySpan<byte> handle, out ulong ino)
    {
        ino = 0;
        if (handle.Length != Size || handle[0] != FormatVersion || !handle[VolumeOffset..InodeOffset].SequenceEqual(_volume))
            return false;
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, handle[..MacOffset], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..MacLength], handle[MacOffset..]))
            return false;
        ino = BinaryPrimitives.ReadUInt64BigEndian(handle[InodeOffset..]);
        return ino != 0;
    }
}

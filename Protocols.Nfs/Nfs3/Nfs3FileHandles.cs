using System.Buffers.Binary;
using System.Security.Cryptography;
using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

/// <summary>What a file handle names: an inode, and the root of the export it was reached through.</summary>
public readonly record struct Nfs3Handle(ulong Ino, ulong ExportRoot);

/// <summary>
/// NFSv3 file handles: 48 bytes of format version, volume id, inode number, the export's root inode and a MAC over
/// them keyed with the volume's handle key. They depend only on the volume and the export, so they survive restarts
/// and are the same on every appliance serving it; the MAC means a client can neither forge a handle for an inode it
/// never looked up nor move a handle into another export (whose rules, and whose ".." boundary, would then apply).
/// </summary>
public sealed class Nfs3FileHandles
{
    public const int Size = 48;
    /// <summary>The largest handle RFC 1813 allows; longer opaque data is garbage.</summary>
    public const int MaxSize = 64;

    private const byte FormatVersion = 2;
    private const int VolumeOffset = 4;
    private const int InodeOffset = 20;
    private const int ExportOffset = 28;
    private const int MacOffset = 36;
    private const int MacLength = Size - MacOffset;

    /// <summary>
    /// Version 1 handles (40 bytes, no export) were issued before exports were recorded; they are still accepted, as
    /// handles of the volume-root export, so clients that kept a mount across the upgrade do not see ESTALE.
    /// </summary>
    private const byte LegacyVersion = 1;
    private const int LegacySize = 40;
    private const int LegacyMacOffset = 28;

    private readonly byte[] _key;
    private readonly byte[] _volume;

    public Nfs3FileHandles(Guid volume, byte[] key)
    {
        if (key.Length == 0)
            throw new ArgumentException("a handle key is required", nameof(key));
        _key = key;
        _volume = volume.ToByteArray(bigEndian: true);
    }

    public void Encode(Nfs3Handle name, Span<byte> handle)
    {
        handle = handle[..Size];
        handle[..VolumeOffset].Clear();
        handle[0] = FormatVersion;
        _volume.CopyTo(handle[VolumeOffset..]);
        BinaryPrimitives.WriteUInt64BigEndian(handle[InodeOffset..], name.Ino);
        BinaryPrimitives.WriteUInt64BigEndian(handle[ExportOffset..], name.ExportRoot);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, handle[..MacOffset], mac);
        mac[..MacLength].CopyTo(handle[MacOffset..]);
    }

    /// <summary>Writes the handle as nfs_fh3 (opaque&lt;64&gt;).</summary>
    public void Write(XdrWriter writer, ulong ino, ulong exportRoot)
    {
        writer.WriteUInt32(Size);
        Encode(new Nfs3Handle(ino, exportRoot), writer.Reserve(Size));
    }

    /// <summary>What a handle names, or false when the handle is not one of ours (wrong size, version, volume or MAC).</summary>
    public bool TryDecode(ReadOnlySpan<byte> handle, out Nfs3Handle name)
    {
        name = default;
        var (macOffset, version) = handle.Length switch
        {
            Size => (MacOffset, FormatVersion),
            LegacySize => (LegacyMacOffset, LegacyVersion),
            _ => (0, (byte)0),
        };
        if (version == 0 || handle[0] != version || !handle[VolumeOffset..InodeOffset].SequenceEqual(_volume))
            return false;
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, handle[..macOffset], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..(handle.Length - macOffset)], handle[macOffset..]))
            return false;
        var ino = BinaryPrimitives.ReadUInt64BigEndian(handle[InodeOffset..]);
        var exportRoot = version == LegacyVersion ? FsLimits.RootIno : BinaryPrimitives.ReadUInt64BigEndian(handle[ExportOffset..]);
        if (ino == 0 || exportRoot == 0)
            return false;
        name = new Nfs3Handle(ino, exportRoot);
        return true;
    }

    /// <summary>The inode a handle names, whatever its export (for NLM, whose locks are per file).</summary>
    public bool TryDecodeInode(ReadOnlySpan<byte> handle, out ulong ino)
    {
        var ok = TryDecode(handle, out Nfs3Handle name);
        ino = name.Ino;
        return ok;
    }
}

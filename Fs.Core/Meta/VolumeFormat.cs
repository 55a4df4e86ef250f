using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>The settings a volume is formatted with; stored in the metadata engine and fixed for the volume's life unless noted.</summary>
public sealed record VolumeFormat
{
    public const int DefaultBlockSize = 4 << 20;
    public const int ChunkSize = 64 << 20;

    public required string Name { get; init; }
    public required Guid Uuid { get; init; }
    /// <summary>Storage URL the volume's blocks live at (informational; the serve command may override it).</summary>
    public string Storage { get; init; } = "";
    public int BlockSize { get; init; } = DefaultBlockSize;
    /// <summary>none, lz4 or zstd.</summary>
    public string Compression { get; init; } = "none";
    /// <summary>True when blocks are encrypted with AES-256-GCM under the key file given at format time.</summary>
    public bool Encrypted { get; init; }
    /// <summary>SHA-256 of the encryption key (hex), so a wrong key file is refused at open rather than read as garbage.</summary>
    public string? KeyFingerprint { get; init; }
    /// <summary>Days a removed file stays in the trash (0 = no trash). May change after format.</summary>
    public int TrashDays { get; init; }
    /// <summary>Capacity limit in bytes (0 = unlimited). May change after format.</summary>
    public long CapacityBytes { get; init; }
    /// <summary>Inode limit (0 = unlimited). May change after format.</summary>
    public long InodeLimit { get; init; }
    /// <summary>Secret used to sign file handles handed to network clients (hex).</summary>
    public required string HandleKey { get; init; }
    public DateTime CreatedUtc { get; init; }
}

/// <summary>One contiguous write inside a chunk. <see cref="Id"/> 0 is a hole that reads as zeros.</summary>
/// <param name="Id">Slice id; its blocks are named from it.</param>
/// <param name="Size">Total bytes of data the slice's blocks hold.</param>
/// <param name="Offset">Where in the slice's data this piece starts.</param>
/// <param name="Length">Bytes of this piece.</param>
/// <param name="Pos">Position of this piece inside the chunk.</param>
public readonly record struct Slice(ulong Id, uint Size, uint Offset, uint Length, uint Pos)
{
    public uint End => Pos + Length;

    public static Slice Hole(uint pos, uint length) => new(0, length, 0, length, pos);
}

/// <summary>The slices of one chunk of one file, as the fsck and gc scans see them.</summary>
public sealed record ChunkRecord(ulong Ino, uint Index, IReadOnlyList<Slice> Slices);

/// <summary>A slice's reference count, as stored.</summary>
public readonly record struct SliceRef(ulong Id, uint Size, long Refs);

/// <summary>A running appliance registered with the volume.</summary>
public sealed record SessionInfo(long Id, string Host, int Pid, string Version, string Doors, DateTime StartedUtc, DateTime HeartbeatUtc);

/// <summary>Volume-wide counters.</summary>
public readonly record struct UsageCounters(long UsedBytes, long UsedInodes);

/// <summary>What unlink or rename removed: the inode that lost a name and whether it is now gone.</summary>
public sealed record RemovedInode(InodeAttr Attr, bool Deleted)
{
    /// <summary>Whether the deletion may have left slices for the deleter: an empty file holds none (a truncate already freed them).</summary>
    public bool FreedData => Deleted && Attr.Type == FileType.Regular && Attr.Size > 0;
}

/// <summary>One finding of a metadata consistency check.</summary>
public sealed record MetaIssue(string Kind, ulong Ino, string Detail, bool Repaired);

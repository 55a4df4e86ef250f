using System.Text.Json.Serialization;
using Fs.Core.Vfs;

namespace Fs.Core.Meta.Dump;

/// <summary>
/// One record of a metadata dump. A dump is a stream of records: one <see cref="DumpHeader"/> first, then every inode
/// (<see cref="DumpedInode"/>) and every directory entry (<see cref="DumpedEntry"/>) in any order, then every slice
/// (<see cref="DumpedSlice"/>). The stream is engine-neutral: a dump of one engine loads into any other.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(DumpHeader), "header")]
[JsonDerivedType(typeof(DumpedInode), "inode")]
[JsonDerivedType(typeof(DumpedEntry), "entry")]
[JsonDerivedType(typeof(DumpedSlice), "slice")]
public abstract record DumpRecord;

/// <summary>The volume's format and the id counters a loaded engine must continue from (ids are never reused: object names derive from slice ids).</summary>
/// <param name="Version">Version of the dump layout; a reader refuses versions it does not know.</param>
/// <param name="NextInode">Lowest inode number never handed out.</param>
/// <param name="NextSlice">Lowest slice id never handed out.</param>
public sealed record DumpHeader(int Version, VolumeFormat Format, ulong NextInode, ulong NextSlice) : DumpRecord
{
    public const int CurrentVersion = 1;
}

/// <summary>An inode with everything that hangs off it except its names: attributes, symlink target, xattrs and chunks.</summary>
public sealed record DumpedInode : DumpRecord
{
    public required ulong Ino { get; init; }
    public required FileType Type { get; init; }
    public required uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint Nlink { get; init; }
    public long Size { get; init; }
    public uint Rdev { get; init; }
    public long Atime { get; init; }
    public long Mtime { get; init; }
    public long Ctime { get; init; }
    public ulong Parent { get; init; }
    public string? Target { get; init; }
    /// <summary>Extended attributes by name; values are bytes (base64 in JSON).</summary>
    public IReadOnlyDictionary<string, byte[]>? Xattrs { get; init; }
    /// <summary>Chunks that hold slices, by index; absent chunks read as zeros.</summary>
    public IReadOnlyList<DumpedChunk>? Chunks { get; init; }

    public static DumpedInode From(InodeAttr a, string? target, IReadOnlyDictionary<string, byte[]>? xattrs, IReadOnlyList<DumpedChunk>? chunks) => new()
    {
        Ino = a.Ino,
        Type = a.Type,
        Mode = a.Mode,
        Uid = a.Uid,
        Gid = a.Gid,
        Nlink = a.Nlink,
        Size = a.Size,
        Rdev = a.Rdev,
        Atime = a.Atime,
        Mtime = a.Mtime,
        Ctime = a.Ctime,
        Parent = a.Parent,
        Target = target,
        Xattrs = xattrs is { Count: > 0 } ? xattrs : null,
        Chunks = chunks is { Count: > 0 } ? chunks : null,
    };

    public InodeAttr ToAttr() => new()
    {
        Ino = Ino,
        Type = Type,
        Mode = Mode,
        Uid = Uid,
        Gid = Gid,
        Nlink = Nlink,
        Size = Size,
        Rdev = Rdev,
        Atime = Atime,
        Mtime = Mtime,
        Ctime = Ctime,
        Parent = Parent,
    };
}

/// <summary>The slice list of one chunk, in the order written (later slices shadow earlier ones).</summary>
public sealed record DumpedChunk(uint Index, IReadOnlyList<Slice> Slices);

/// <summary>One name in a directory.</summary>
public sealed record DumpedEntry(ulong Parent, string Name, ulong Ino, FileType Type) : DumpRecord;

/// <summary>A slice's reference count: how many chunk slice-list items name it. Zero means it awaits deletion of its blocks.</summary>
public sealed record DumpedSlice(ulong Id, uint Size, long Refs) : DumpRecord;

namespace Fs.Core.Vfs;

/// <summary>The kind of an inode.</summary>
public enum FileType : byte
{
    Regular = 1,
    Directory = 2,
    Symlink = 3,
    Fifo = 4,
    Socket = 5,
    CharDevice = 6,
    BlockDevice = 7,
}

/// <summary>Bits of an access check (R_OK, W_OK, X_OK); zero asks only whether the inode exists.</summary>
[Flags]
public enum AccessMode
{
    Exists = 0,
    Execute = 1,
    Write = 2,
    Read = 4,
}

/// <summary>Open flags the core cares about (Linux O_* values).</summary>
[Flags]
public enum OpenFlags
{
    ReadOnly = 0,
    WriteOnly = 1,
    ReadWrite = 2,
    AccessMask = 3,
    Create = 0x40,
    Exclusive = 0x80,
    Truncate = 0x200,
    Append = 0x400,
    Directory = 0x10000,
    NoFollow = 0x20000,
}

/// <summary>renameat2 flags.</summary>
[Flags]
public enum RenameFlags
{
    None = 0,
    NoReplace = 1,
    Exchange = 2,
}

/// <summary>fallocate modes.</summary>
[Flags]
public enum FallocateMode
{
    Default = 0,
    KeepSize = 1,
    PunchHole = 2,
    ZeroRange = 0x10,
}

/// <summary>setxattr flags.</summary>
public enum XattrFlags
{
    None = 0,
    Create = 1,
    Replace = 2,
}

/// <summary>Which attributes a setattr call changes.</summary>
[Flags]
public enum SetAttrMask
{
    None = 0,
    Mode = 1,
    Uid = 2,
    Gid = 4,
    Size = 8,
    Atime = 16,
    Mtime = 32,
    AtimeNow = 64,
    MtimeNow = 128,
    Ctime = 256,
}

/// <summary>A setattr request: the mask says which fields are meaningful. Times are nanoseconds since the Unix epoch.</summary>
public readonly record struct SetAttrRequest(
    SetAttrMask Mask,
    uint Mode = 0,
    uint Uid = 0,
    uint Gid = 0,
    long Size = 0,
    long Atime = 0,
    long Mtime = 0,
    long Ctime = 0);

/// <summary>Limits of names and files.</summary>
public static class FsLimits
{
    public const int MaxNameBytes = 255;
    public const int MaxSymlinkBytes = 4096;
    public const int MaxXattrNameBytes = 255;
    public const int MaxXattrValueBytes = 65536;
    public const int MaxXattrListBytes = 65536;
    public const uint MaxLinks = 65000;
    public const long MaxFileSize = 1L << 50;
    public const ulong RootIno = 1;
}

/// <summary>Volume-wide usage figures, as statfs reports them.</summary>
public readonly record struct StatFs(
    long TotalBytes,
    long AvailableBytes,
    long UsedInodes,
    long AvailableInodes,
    int BlockSize,
    int MaxNameLength);

/// <summary>One directory entry. <see cref="Cookie"/> resumes a listing just after this entry.</summary>
public sealed record DirEntry(string Name, ulong Ino, FileType Type, long Cookie, InodeAttr? Attr = null);

/// <summary>A page of a directory listing.</summary>
public sealed record DirPage(IReadOnlyList<DirEntry> Entries, bool Eof);

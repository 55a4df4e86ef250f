namespace Protocols.Fuse.Kernel;

/// <summary>Capability bits exchanged in INIT (flags in the low 32 bits, flags2 in the high 32 bits).</summary>
[Flags]
public enum FuseInitFlags : ulong
{
    None = 0,
    AsyncRead = 1UL << 0,
    PosixLocks = 1UL << 1,
    FileOps = 1UL << 2,
    AtomicOTrunc = 1UL << 3,
    ExportSupport = 1UL << 4,
    BigWrites = 1UL << 5,
    DontMask = 1UL << 6,
    SpliceWrite = 1UL << 7,
    SpliceMove = 1UL << 8,
    SpliceRead = 1UL << 9,
    FlockLocks = 1UL << 10,
    HasIoctlDir = 1UL << 11,
    AutoInvalData = 1UL << 12,
    DoReadDirPlus = 1UL << 13,
    ReadDirPlusAuto = 1UL << 14,
    AsyncDio = 1UL << 15,
    WritebackCache = 1UL << 16,
    NoOpenSupport = 1UL << 17,
    ParallelDirOps = 1UL << 18,
    HandleKillPriv = 1UL << 19,
    PosixAcl = 1UL << 20,
    AbortError = 1UL << 21,
    MaxPages = 1UL << 22,
    CacheSymlinks = 1UL << 23,
    NoOpenDirSupport = 1UL << 24,
    ExplicitInvalData = 1UL << 25,
    MapAlignment = 1UL << 26,
    Submounts = 1UL << 27,
    HandleKillPrivV2 = 1UL << 28,
    SetXattrExt = 1UL << 29,
    InitExt = 1UL << 30,
    InitReserved = 1UL << 31,
    SecurityContext = 1UL << 32,
    HasInodeDax = 1UL << 33,
    CreateSuppGroup = 1UL << 34,
    HasExpireOnly = 1UL << 35,
}

/// <summary>fuse_setattr_in.valid: which fields of a SETATTR are meaningful (FATTR_*).</summary>
[Flags]
public enum FuseSetAttrValid : uint
{
    Mode = 1 << 0,
    Uid = 1 << 1,
    Gid = 1 << 2,
    Size = 1 << 3,
    Atime = 1 << 4,
    Mtime = 1 << 5,
    Fh = 1 << 6,
    AtimeNow = 1 << 7,
    MtimeNow = 1 << 8,
    LockOwner = 1 << 9,
    Ctime = 1 << 10,
    KillSuidGid = 1 << 11,
}

/// <summary>fuse_open_out.open_flags (FOPEN_*).</summary>
[Flags]
public enum FuseOpenOutFlags : uint
{
    None = 0,
    DirectIo = 1 << 0,
    KeepCache = 1 << 1,
    NonSeekable = 1 << 2,
    CacheDir = 1 << 3,
    Stream = 1 << 4,
    NoFlush = 1 << 5,
}

/// <summary>Small flag sets carried by individual requests.</summary>
public static class FuseRequestFlags
{
    /// <summary>fuse_release_in.release_flags: the file's flock lock is to be dropped.</summary>
    public const uint ReleaseFlockUnlock = 1 << 1;

    /// <summary>fuse_lk_in.lk_flags: the lock is a flock(2) lock, not an fcntl one.</summary>
    public const uint LockFlock = 1 << 0;

    /// <summary>fuse_fsync_in.fsync_flags: fdatasync.</summary>
    public const uint FsyncDataOnly = 1 << 0;

    /// <summary>fuse_getattr_in.getattr_flags: fh is valid.</summary>
    public const uint GetAttrFh = 1 << 0;
}

/// <summary>Constants of the protocol and of the Linux ABI it carries.</summary>
public static class FuseConstants
{
    public const uint KernelVersion = 7;
    /// <summary>The minor version whose struct layouts this implementation speaks (linux 6.2 uapi).</summary>
    public const uint KernelMinorVersion = 38;
    /// <summary>Oldest minor accepted: MAX_PAGES, CACHE_SYMLINKS and the 64-byte init_out are all there from 7.28 on.</summary>
    public const uint MinimumMinorVersion = 28;
    public const ulong RootId = 1;
    public const int MinReadBuffer = 8192;
    public const int PageSize = 4096;

    public const uint F_RDLCK = 0;
    public const uint F_WRLCK = 1;
    public const uint F_UNLCK = 2;

    public const uint SEEK_DATA = 3;
    public const uint SEEK_HOLE = 4;

    /// <summary>_IOR(229, 0, uint32_t): attach a new /dev/fuse fd to an existing connection.</summary>
    public const uint DevIocClone = 0x8004E500;
}

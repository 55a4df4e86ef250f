namespace Fs.Core.Locks;

/// <summary>The door a lock came through.</summary>
public enum LockDoor : byte
{
    Core = 0,
    Nfs = 1,
    WebDav = 2,
    Fuse = 3,
}

/// <summary>The three families of lock the manager keeps.</summary>
public enum LockKind : byte
{
    /// <summary>fcntl/NLM byte-range lock.</summary>
    Posix = 1,
    /// <summary>flock whole-file lock.</summary>
    Flock = 2,
    /// <summary>RFC 4918 write lock.</summary>
    WebDav = 3,
}

/// <summary>Shared (read) or exclusive (write).</summary>
public enum LockMode : byte
{
    Shared = 1,
    Exclusive = 2,
}

/// <summary>Who holds a lock: the appliance session, the door, the client and the client's own owner id.</summary>
public readonly record struct LockOwner(long Session, LockDoor Door, string Client, ulong OwnerId)
{
    public override string ToString() => $"{Session}/{Door}/{Client}/{OwnerId}";
}

/// <summary>One lock held on one inode, as stored in the metadata engine.</summary>
/// <param name="End">Exclusive end of the byte range; <see cref="long.MaxValue"/> means to end of file.</param>
/// <param name="Depth">WebDAV depth: 0 or -1 for infinity.</param>
/// <param name="Token">WebDAV lock token (opaquelocktoken URI); null for other kinds.</param>
/// <param name="ExpiresUnixMs">When a WebDAV lock times out (0 = never).</param>
/// <param name="Info">WebDAV owner XML, or the POSIX pid as text, for reporting.</param>
public sealed record LockRecord(
    LockKind Kind,
    LockMode Mode,
    LockOwner Owner,
    long Start = 0,
    long End = long.MaxValue,
    int Depth = 0,
    string? Token = null,
    long ExpiresUnixMs = 0,
    string? Info = null,
    int Pid = 0);

namespace Fs.Core.Vfs;

/// <summary>An open file or directory, as returned by open/create/opendir. Doors keep it between calls and release it once.</summary>
public sealed class FileHandle
{
    internal FileHandle(long id, ulong ino, OpenFlags flags, Caller caller)
    {
        Id = id;
        Ino = ino;
        Flags = flags;
        Caller = caller;
    }

    /// <summary>Unique in this process; doors may hand it to their clients as the handle number.</summary>
    public long Id { get; }

    public ulong Ino { get; }

    public OpenFlags Flags { get; }

    /// <summary>Who opened it; writes through the handle are made as this caller.</summary>
    public Caller Caller { get; }

    public bool CanRead => (Flags & OpenFlags.AccessMask) != OpenFlags.WriteOnly;

    public bool CanWrite => (Flags & OpenFlags.AccessMask) != OpenFlags.ReadOnly;

    internal bool Released { get; set; }

    /// <summary>
    /// The file's attributes as the release of this handle left them, when the release committed data (null when it
    /// committed nothing, or before the release): a door answering a finished upload can take its size and mtime from
    /// here instead of asking again.
    /// </summary>
    public InodeAttr? ReleasedAttr { get; internal set; }

    /// <summary>Whether the first write through this handle has already cleared setuid/setgid.</summary>
    internal bool PrivilegesDropped { get; set; }

    /// <summary>Read-ahead state: where the last read ended and how long the sequential run has been.</summary>
    internal long LastReadEnd { get; set; } = -1;

    internal long SequentialBytes { get; set; }

    /// <summary>End of the range read-ahead has already been asked for.</summary>
    internal long PrefetchedUpTo { get; set; }
}

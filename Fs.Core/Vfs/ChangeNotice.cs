namespace Fs.Core.Vfs;

/// <summary>What changed in the file system.</summary>
public enum ChangeKind : byte
{
    /// <summary>Attributes of <see cref="ChangeNotice.Ino"/> changed (mode, owner, times, size, nlink).</summary>
    Attributes,
    /// <summary>Bytes [Offset, Offset + Length) of <see cref="ChangeNotice.Ino"/> changed (Length 0 = to end of file).</summary>
    Data,
    /// <summary>A name appeared in directory <see cref="ChangeNotice.Parent"/>.</summary>
    EntryAdded,
    /// <summary>
    /// A name went from directory <see cref="ChangeNotice.Parent"/> (<see cref="ChangeNotice.Ino"/> is the inode it named,
    /// 0 when not known: a name another appliance changed).
    /// </summary>
    EntryRemoved,
}

/// <summary>
/// A change made through the file system, raised after it succeeded, so that doors with caches of their own (the FUSE
/// kernel's page, attribute and entry caches) can drop what went stale. <see cref="Origin"/> is the door that made it.
/// </summary>
public readonly record struct ChangeNotice(ChangeKind Kind, ulong Ino, ulong Parent = 0, string? Name = null, long Offset = 0, long Length = 0, object? Origin = null);

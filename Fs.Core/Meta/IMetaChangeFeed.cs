namespace Fs.Core.Meta;

/// <summary>
/// Notices a shared metadata engine delivers about changes made by other appliances on the same volume: lock changes (to
/// wake blocked lock requests at once) and inode or entry changes (to drop cached attributes and listings).
/// </summary>
public interface IMetaChangeFeed
{
    /// <summary>The locks of an inode changed on another appliance; pass it to <see cref="Locks.LockManager.NotifyChanged"/>.</summary>
    event Action<ulong>? LocksChanged;

    /// <summary>An inode's attributes, or a directory's entries, changed on another appliance.</summary>
    event Action<ulong>? InodesChanged;

    /// <summary>
    /// A name in a directory (parent inode, name) appeared, went, or now names another inode, changed on another
    /// appliance: caches that map names to inodes (the FUSE kernel's entries) must drop it.
    /// </summary>
    event Action<ulong, string>? EntriesChanged;
}

namespace Fs.Core.Locks;

/// <summary>Where the lock lists of inodes are kept: the slice of a metadata engine that the lock manager needs.</summary>
public interface ILockStore
{
    /// <summary>
    /// Reads the locks of <paramref name="ino"/> and replaces them with what <paramref name="update"/> returns, atomically with
    /// respect to every other appliance sharing the store. <paramref name="update"/> may run more than once and must be pure;
    /// a null list from it leaves the locks as they were. Cancellation may only abort the call before anything was written:
    /// once an update is committed the call completes, so a cancelled caller never leaves a lock behind it does not know of.
    /// </summary>
    ValueTask<T> UpdateLocksAsync<T>(ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct);

    /// <summary>Every lock in the store, with its inode.</summary>
    ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct);
}

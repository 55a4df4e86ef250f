using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>
/// A metadata engine: every file-system operation on inodes, entries, chunks, xattrs and locks, each one atomic.
/// Permission checks that depend on stored state happen inside the engine's atomic step (see <see cref="PermissionRules"/>).
/// </summary>
public interface IMetaEngine : IAsyncDisposable
{
    /// <summary>Engine name and location for logs, e.g. sqlite:///data/meta.db.</summary>
    string Description { get; }

    // ---- volume ----

    /// <summary>The stored format, or null when the volume is not formatted yet.</summary>
    ValueTask<VolumeFormat?> LoadFormatAsync(CancellationToken ct);

    /// <summary>Formats an empty volume: stores the format and creates the root directory (inode 1, mode 0777, owned by root 0:0). Fails with EEXIST when already formatted.</summary>
    ValueTask<Errno> FormatAsync(VolumeFormat format, CancellationToken ct);

    /// <summary>Replaces the settings that may change after format (trash days, capacity, inode limit).</summary>
    ValueTask UpdateFormatAsync(VolumeFormat format, CancellationToken ct);

    /// <summary>Deletes every record of the volume (format included), leaving the engine as before format; `appliance destroy` does this after the objects are gone.</summary>
    ValueTask DestroyAsync(CancellationToken ct);

    ValueTask<UsageCounters> GetUsageAsync(CancellationToken ct);

    // ---- sessions ----

    ValueTask<long> RegisterSessionAsync(string host, int pid, string version, string doors, CancellationToken ct);

    ValueTask HeartbeatAsync(long session, CancellationToken ct);

    /// <summary>Records the doors a session serves, once they listen (their ports are known only then); a closed session stays closed.</summary>
    ValueTask SetSessionDoorsAsync(long session, string doors, CancellationToken ct);

    /// <summary>Ends a session: releases its locks and open-file records, deleting files that were unlinked while open.</summary>
    ValueTask CloseSessionAsync(long session, CancellationToken ct);

    ValueTask<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken ct);

    /// <summary>Closes every session whose last heartbeat is older than <paramref name="timeout"/>; returns their ids.</summary>
    ValueTask<IReadOnlyList<long>> CleanStaleSessionsAsync(TimeSpan timeout, CancellationToken ct);

    // ---- namespace ----

    /// <summary>Looks a name up in a directory (needs search permission on it). "." and ".." are resolved too.</summary>
    ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct);

    ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct);

    /// <summary>Changes mode, owner, times and (for regular files) size, with the POSIX permission rules and ctime update.</summary>
    ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct);

    ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct);

    /// <summary>
    /// Creates an inode of any type under parent. For symlinks <paramref name="symlinkTarget"/> is the target.
    /// EEXIST when the name exists. The new inode gets the caller's uid and the caller's gid, or the parent's gid
    /// when the parent is setgid (directories then inherit the setgid bit).
    /// </summary>
    ValueTask<Result<InodeAttr>> MknodAsync(Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev, string? symlinkTarget, CancellationToken ct);

    /// <summary>
    /// Removes a non-directory name. The inode is deleted when its last name goes and no session has it open. While the
    /// stored format's TrashDays is above zero, a name outside /.trash is instead moved into /.trash (see <see cref="TrashLayout"/>)
    /// and the inode keeps its links.
    /// </summary>
    ValueTask<Result<RemovedInode>> UnlinkAsync(Caller caller, ulong parent, string name, CancellationToken ct);

    ValueTask<Errno> RmdirAsync(Caller caller, ulong parent, string name, CancellationToken ct);

    /// <summary>
    /// rename(2) / renameat2(2) with NOREPLACE and EXCHANGE. Returns the replaced inode, if one was replaced. While the
    /// trash is on, a replaced non-directory outside /.trash goes to the trash as with unlink.
    /// </summary>
    ValueTask<Result<RemovedInode?>> RenameAsync(Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags, CancellationToken ct);

    ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct);

    ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct);

    /// <summary>
    /// Entries of a directory (without "." and ".."), in cookie order, starting after <paramref name="afterCookie"/>
    /// (0 = from the start). Cookies are positive, stable while the directory changes, and never reused in it.
    /// With <paramref name="plus"/> each entry carries its attributes. Needs read permission on the directory.
    /// </summary>
    ValueTask<Result<IReadOnlyList<DirEntry>>> ReadDirAsync(Caller caller, ulong ino, long afterCookie, int limit, bool plus, CancellationToken ct);

    // ---- open files ----

    /// <summary>Checks open permission for the access mode in <paramref name="flags"/> and records that the session has the inode open.</summary>
    ValueTask<Result<InodeAttr>> OpenAsync(Caller caller, long session, ulong ino, OpenFlags flags, CancellationToken ct);

    /// <summary>
    /// open(2) with O_CREAT|O_EXCL in one atomic step: creates a regular file as <see cref="MknodAsync"/> does and records
    /// that the session has it open. The creator may use the new file in any mode, whatever permission bits it was given.
    /// </summary>
    ValueTask<Result<InodeAttr>> CreateAsync(Caller caller, long session, ulong parent, string name, uint mode, CancellationToken ct);

    /// <summary>
    /// Drops the session's open record; deletes the inode when it has no names and no other opener. True when this call
    /// deleted it (its slices now wait for deletion); an engine may delete it a little later instead.
    /// </summary>
    ValueTask<bool> CloseAsync(long session, ulong ino, CancellationToken ct);

    // ---- data ----

    /// <summary>A fresh slice id, never handed out before.</summary>
    ValueTask<ulong> NewSliceIdAsync(CancellationToken ct);

    /// <summary>The slices of one chunk in the order written (later shadow earlier).</summary>
    ValueTask<Result<IReadOnlyList<Slice>>> ReadChunkAsync(ulong ino, uint chunkIndex, CancellationToken ct);

    /// <summary>
    /// Appends a written slice to a chunk, grows the file length to cover it, and sets mtime/ctime to
    /// <paramref name="mtime"/>. With <paramref name="durable"/> the change (and every earlier one) is on stable storage on return.
    /// </summary>
    ValueTask<Result<InodeAttr>> WriteChunkAsync(ulong ino, uint chunkIndex, Slice slice, long mtime, bool durable, CancellationToken ct);

    /// <summary>Makes every committed change durable (fsync of the metadata).</summary>
    ValueTask SyncAsync(CancellationToken ct);

    /// <summary>fallocate(2): default and KEEP_SIZE change only the length; PUNCH_HOLE and ZERO_RANGE write holes.</summary>
    ValueTask<Result<InodeAttr>> FallocateAsync(Caller caller, ulong ino, FallocateMode mode, long offset, long length, CancellationToken ct);

    /// <summary>Copies a byte range by sharing slices (reference counts go up; no data moves). Returns bytes copied.</summary>
    ValueTask<Result<long>> CopyFileRangeAsync(Caller caller, ulong src, long srcOffset, ulong dst, long dstOffset, long length, CancellationToken ct);

    /// <summary>
    /// Replaces the first <paramref name="replacedCount"/> slices of a chunk (which must still be <paramref name="expected"/>)
    /// with <paramref name="replacement"/>; returns false when the chunk changed meanwhile (the caller then drops its new slice).
    /// </summary>
    ValueTask<bool> ReplaceSlicesAsync(ulong ino, uint chunkIndex, IReadOnlyList<Slice> expected, IReadOnlyList<Slice> replacement, CancellationToken ct);

    /// <summary>Slices whose reference count reached zero: their blocks may be deleted from the object store.</summary>
    ValueTask<IReadOnlyList<SliceRef>> PendingSliceDeletionsAsync(int max, CancellationToken ct);

    /// <summary>Forgets a slice whose blocks have been deleted.</summary>
    ValueTask ConfirmSliceDeletedAsync(ulong id, uint size, CancellationToken ct);

    // ---- extended attributes ----

    ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct);

    ValueTask<Errno> SetXattrAsync(Caller caller, ulong ino, string name, ReadOnlyMemory<byte> value, XattrFlags flags, CancellationToken ct);

    ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct);

    /// <summary>
    /// The extended attributes, with values and in name order, whose names start with <paramref name="prefix"/>, of each
    /// of <paramref name="inos"/> that has any (inodes without any, or gone, are left out): one round trip for a page of
    /// directory entries, as a listing of WebDAV dead properties needs. No permission checks: the caller applies them.
    /// </summary>
    ValueTask<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>> GetXattrsAsync(IReadOnlyList<ulong> inos, string prefix, CancellationToken ct);

    ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct);

    // ---- locks ----

    /// <summary>
    /// Reads the locks of an inode and replaces them with what <paramref name="update"/> returns, atomically with respect to
    /// every other appliance on the volume. <paramref name="update"/> may run more than once (optimistic retry) and must be pure.
    /// A null list from it leaves the locks as they were.
    /// </summary>
    ValueTask<T> UpdateLocksAsync<T>(ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct);

    /// <summary>Every lock on the volume, for status and session clean-up.</summary>
    ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct);

    // ---- scans for fsck and gc ----

    IAsyncEnumerable<ChunkRecord> ScanChunksAsync(CancellationToken ct);

    IAsyncEnumerable<SliceRef> ScanSliceRefsAsync(CancellationToken ct);

    /// <summary>Checks the engine's own invariants (nlink counts, dangling entries, orphan inodes, counters); repairs them when asked.</summary>
    ValueTask<IReadOnlyList<MetaIssue>> CheckAsync(bool repair, CancellationToken ct);

    // ---- dump and load ----

    /// <summary>
    /// The whole volume's metadata (from one consistent snapshot where the engine has one), in the order <see cref="Dump.DumpRecord"/> describes:
    /// the header, every inode that has a name (and root and /.trash), every entry, then every slice with its reference
    /// count recounted from the chunks dumped (zero for slices awaiting deletion). Sessions, open files and locks are not dumped.
    /// </summary>
    IAsyncEnumerable<Dump.DumpRecord> DumpAsync(CancellationToken ct);

    /// <summary>
    /// Loads a dump into an engine that holds no volume, all or nothing: stores the format, inodes, entries (with fresh
    /// readdir cookies), symlink targets, xattrs, chunks and slice counts (zero = queued for deletion), continues the id
    /// counters from the header, and recomputes the usage counters. Throws <see cref="VolumeException"/> when the engine
    /// already holds a volume or the dump is malformed.
    /// </summary>
    ValueTask LoadAsync(IAsyncEnumerable<Dump.DumpRecord> records, CancellationToken ct);

    // ---- leases ----

    /// <summary>
    /// Takes the named lease for <paramref name="session"/> until now + <paramref name="duration"/>, or renews it when the
    /// session holds it already; false while another session holds it unexpired. Used so that volume-wide background work
    /// (emptying the trash) runs in one appliance at a time. A lease ends at its expiry; an engine may release a closed session's leases sooner.
    /// </summary>
    ValueTask<bool> TryAcquireLeaseAsync(string name, long session, TimeSpan duration, CancellationToken ct);
}

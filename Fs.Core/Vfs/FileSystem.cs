using Fs.Core.Locks;
using Fs.Core.Meta;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Vfs;

/// <summary>
/// The one file system of a volume, shared by every door. Inode-based, asynchronous, permission-checked against a
/// <see cref="Caller"/>; every failure is a POSIX errno.
/// </summary>
public sealed partial class FileSystem : IAsyncDisposable
{
    /// <summary>Formats a new volume (SQLite/local directory or any supported URLs). EEXIST-style failures throw <see cref="VolumeException"/>.</summary>
    public static Task<VolumeFormat> FormatAsync(FormatOptions options, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Opens a formatted volume; throws <see cref="VolumeException"/> with an operator-readable message when it cannot.</summary>
    public static Task<FileSystem> OpenAsync(FileSystemOptions options, ILoggerFactory? loggerFactory = null, CancellationToken ct = default) => throw new NotImplementedException();

    public VolumeFormat Format => throw new NotImplementedException();

    public IMetaEngine Meta => throw new NotImplementedException();

    public LockManager Locks => throw new NotImplementedException();

    public Objects.IObjectStore ObjectStore => throw new NotImplementedException();

    /// <summary>Reads a block straight from the object store (bypassing the cache) and checks it decodes; false when missing or corrupt.</summary>
    public ValueTask<bool> VerifyBlockAsync(Cache.BlockKey key, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>This process's session id in the metadata engine.</summary>
    public long Session => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> MknodAsync(Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev = 0, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Creates and opens a regular file. With <see cref="OpenFlags.Exclusive"/> an existing name is EEXIST; without, an existing file is opened (and truncated with <see cref="OpenFlags.Truncate"/>).</summary>
    public ValueTask<Result<(InodeAttr Attr, FileHandle Handle)>> CreateAsync(Caller caller, ulong parent, string name, uint mode, OpenFlags flags, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> MkdirAsync(Caller caller, ulong parent, string name, uint mode, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> UnlinkAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> RmdirAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> RenameAsync(Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags = RenameFlags.None, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<InodeAttr>> SymlinkAsync(Caller caller, ulong parent, string name, string target, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>
    /// One page of a directory listing, starting after <paramref name="cookie"/> (0 = from the start). The page begins
    /// with "." and ".." when starting from 0. Each entry's cookie resumes after it; cookies stay valid while the directory changes.
    /// </summary>
    public ValueTask<Result<DirPage>> ReadDirAsync(Caller caller, ulong ino, long cookie, int maxEntries, bool plus = false, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<FileHandle>> OpenAsync(Caller caller, ulong ino, OpenFlags flags, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Reads up to buffer.Length bytes at offset; returns the count (0 at or past end of file).</summary>
    public ValueTask<Result<int>> ReadAsync(FileHandle handle, long offset, Memory<byte> buffer, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Writes at offset (at end of file for O_APPEND handles); buffered until flush/fsync/release.</summary>
    public ValueTask<Result<int>> WriteAsync(FileHandle handle, long offset, ReadOnlyMemory<byte> data, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Commits buffered writes of the file to metadata (visible to every appliance).</summary>
    public ValueTask<Errno> FlushAsync(FileHandle handle, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Commits buffered writes and makes them durable.</summary>
    public ValueTask<Errno> FsyncAsync(FileHandle handle, bool dataOnly = false, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Flushes and closes the handle, releasing its POSIX locks of <paramref name="lockOwner"/> when given.</summary>
    public ValueTask<Errno> ReleaseAsync(FileHandle handle, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> FallocateAsync(FileHandle handle, FallocateMode mode, long offset, long length, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Copies a range by sharing slices; returns bytes copied (short at end of source).</summary>
    public ValueTask<Result<long>> CopyFileRangeAsync(FileHandle source, long sourceOffset, FileHandle destination, long destinationOffset, long length, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<StatFs>> StatFsAsync(CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> SetXattrAsync(Caller caller, ulong ino, string name, ReadOnlyMemory<byte> value, XattrFlags flags = XattrFlags.None, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct = default) => throw new NotImplementedException();

    public ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct = default) => throw new NotImplementedException();

    /// <summary>Flushes every buffered write, ends the session and closes the engines.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}

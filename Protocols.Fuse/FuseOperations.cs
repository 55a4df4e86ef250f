using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

/// <summary>
/// The FUSE door's mapping onto <see cref="FileSystem"/>: a table from opcode to (name, fixed input size, handler), and
/// one handler per opcode in the partial files next to this one. Node ids are inode numbers; file handles are the
/// core's handle ids. Opcodes not in the table answer ENOSYS.
/// </summary>
internal sealed partial class FuseOperations : IFuseRequestHandler
{
    internal delegate ValueTask Handler(FuseOperations operations, FuseRequest request);

    /// <summary>One row of the opcode table.</summary>
    internal sealed record Operation(FuseOpcode Opcode, string Name, int InputSize, Handler Handle);

    internal static readonly Operation[] Operations =
    [
        new(FuseOpcode.Lookup, "LOOKUP", 0, static (o, r) => o.LookupAsync(r)),
        new(FuseOpcode.Forget, "FORGET", Size<FuseForgetIn>(), static (o, r) => o.Forget(r)),
        new(FuseOpcode.BatchForget, "BATCH_FORGET", Size<FuseBatchForgetIn>(), static (o, r) => o.BatchForget(r)),
        new(FuseOpcode.GetAttr, "GETATTR", Size<FuseGetAttrIn>(), static (o, r) => o.GetAttrAsync(r)),
        new(FuseOpcode.SetAttr, "SETATTR", Size<FuseSetAttrIn>(), static (o, r) => o.SetAttrAsync(r)),
        new(FuseOpcode.ReadLink, "READLINK", 0, static (o, r) => o.ReadLinkAsync(r)),
        new(FuseOpcode.Symlink, "SYMLINK", 0, static (o, r) => o.SymlinkAsync(r)),
        new(FuseOpcode.Mknod, "MKNOD", Size<FuseMknodIn>(), static (o, r) => o.MknodAsync(r)),
        new(FuseOpcode.Mkdir, "MKDIR", Size<FuseMkdirIn>(), static (o, r) => o.MkdirAsync(r)),
        new(FuseOpcode.Unlink, "UNLINK", 0, static (o, r) => o.UnlinkAsync(r)),
        new(FuseOpcode.Rmdir, "RMDIR", 0, static (o, r) => o.RmdirAsync(r)),
        new(FuseOpcode.Rename, "RENAME", Size<FuseRenameIn>(), static (o, r) => o.RenameAsync(r)),
        new(FuseOpcode.Rename2, "RENAME2", Size<FuseRename2In>(), static (o, r) => o.Rename2Async(r)),
        new(FuseOpcode.Link, "LINK", Size<FuseLinkIn>(), static (o, r) => o.LinkAsync(r)),
        new(FuseOpcode.Open, "OPEN", Size<FuseOpenIn>(), static (o, r) => o.OpenAsync(r)),
        new(FuseOpcode.Create, "CREATE", Size<FuseCreateIn>(), static (o, r) => o.CreateAsync(r)),
        new(FuseOpcode.Read, "READ", Size<FuseReadIn>(), static (o, r) => o.ReadAsync(r)),
        new(FuseOpcode.Write, "WRITE", Size<FuseWriteIn>(), static (o, r) => o.WriteAsync(r)),
        new(FuseOpcode.Flush, "FLUSH", Size<FuseFlushIn>(), static (o, r) => o.FlushAsync(r)),
        new(FuseOpcode.Release, "RELEASE", Size<FuseReleaseIn>(), static (o, r) => o.ReleaseAsync(r)),
        new(FuseOpcode.Fsync, "FSYNC", Size<FuseFsyncIn>(), static (o, r) => o.FsyncAsync(r)),
        new(FuseOpcode.OpenDir, "OPENDIR", Size<FuseOpenIn>(), static (o, r) => o.OpenDirAsync(r)),
        new(FuseOpcode.ReadDir, "READDIR", Size<FuseReadIn>(), static (o, r) => o.ReadDirAsync(r, plus: false)),
        new(FuseOpcode.ReadDirPlus, "READDIRPLUS", Size<FuseReadIn>(), static (o, r) => o.ReadDirAsync(r, plus: true)),
        new(FuseOpcode.ReleaseDir, "RELEASEDIR", Size<FuseReleaseIn>(), static (o, r) => o.ReleaseDir(r)),
        new(FuseOpcode.FsyncDir, "FSYNCDIR", Size<FuseFsyncIn>(), static (o, r) => o.FsyncDir(r)),
        new(FuseOpcode.StatFs, "STATFS", 0, static (o, r) => o.StatFsAsync(r)),
        new(FuseOpcode.SetXattr, "SETXATTR", Size<FuseSetXattrIn>(), static (o, r) => o.SetXattrAsync(r)),
        new(FuseOpcode.GetXattr, "GETXATTR", Size<FuseGetXattrIn>(), static (o, r) => o.GetXattrAsync(r)),
        new(FuseOpcode.ListXattr, "LISTXATTR", Size<FuseGetXattrIn>(), static (o, r) => o.ListXattrAsync(r)),
        new(FuseOpcode.RemoveXattr, "REMOVEXATTR", 0, static (o, r) => o.RemoveXattrAsync(r)),
        new(FuseOpcode.Access, "ACCESS", Size<FuseAccessIn>(), static (o, r) => o.AccessAsync(r)),
        new(FuseOpcode.GetLk, "GETLK", Size<FuseLkIn>(), static (o, r) => o.GetLkAsync(r)),
        new(FuseOpcode.SetLk, "SETLK", Size<FuseLkIn>(), static (o, r) => o.SetLkAsync(r, wait: false)),
        new(FuseOpcode.SetLkW, "SETLKW", Size<FuseLkIn>(), static (o, r) => o.SetLkAsync(r, wait: true)),
        new(FuseOpcode.Fallocate, "FALLOCATE", Size<FuseFallocateIn>(), static (o, r) => o.FallocateAsync(r)),
        new(FuseOpcode.Lseek, "LSEEK", Size<FuseLseekIn>(), static (o, r) => o.LseekAsync(r)),
        new(FuseOpcode.CopyFileRange, "COPY_FILE_RANGE", Size<FuseCopyFileRangeIn>(), static (o, r) => o.CopyFileRangeAsync(r)),
    ];

    private static readonly Operation?[] Table = BuildTable();

    private readonly FileSystem _fs;
    private readonly FuseMountOptions _options;
    private readonly ILogger _logger;
    private readonly InodeLookupTable _inodes = new();
    private readonly CallerResolver _callers = new();
    private readonly ConcurrentDictionary<ulong, FileHandle> _handles = new();
    private readonly ulong _entryValid;
    private readonly uint _entryValidNsec;
    private readonly ulong _attrValid;
    private readonly uint _attrValidNsec;

    public FuseOperations(FileSystem fs, FuseMountOptions options, ILogger logger)
    {
        _fs = fs;
        _options = options;
        _logger = logger;
        (_entryValid, _entryValidNsec) = SplitTimeout(options.EntryTimeout);
        (_attrValid, _attrValidNsec) = SplitTimeout(options.AttrTimeout);
    }

    public InodeLookupTable Inodes => _inodes;

    /// <summary>The table row for an opcode; null for opcodes this door does not implement.</summary>
    internal static Operation? Find(FuseOpcode opcode) => (uint)opcode < (uint)Table.Length ? Table[(int)opcode] : null;

    public ValueTask HandleAsync(FuseRequest request)
    {
        var operation = Find(request.Opcode);
        if (operation is null)
        {
            request.Fail((int)Errno.ENOSYS);
            return default;
        }
        if (request.PayloadLength < operation.InputSize)
        {
            _logger.LogWarning("FUSE {Op} with {Length} bytes of input, fewer than its {Size}", operation.Name, request.PayloadLength, operation.InputSize);
            if (operation.Opcode is not (FuseOpcode.Forget or FuseOpcode.BatchForget))
                request.Fail((int)Errno.EINVAL);
            return default;
        }
        return operation.Handle(this, request);
    }

    /// <summary>Releases the handles the kernel never released (the connection was aborted), flushing their writes.</summary>
    public async ValueTask ReleaseAllAsync(CancellationToken ct)
    {
        foreach (var fh in _handles.Keys)
            if (_handles.TryRemove(fh, out var handle))
                await _fs.ReleaseAsync(handle, ct).ConfigureAwait(false);
    }

    private static Operation?[] BuildTable()
    {
        var table = new Operation?[Operations.Max(o => (int)o.Opcode) + 1];
        foreach (var operation in Operations)
            table[(int)operation.Opcode] = operation;
        return table;
    }

    private static int Size<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    private static (ulong Seconds, uint Nanos) SplitTimeout(TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        return ((ulong)(ticks / TimeSpan.TicksPerSecond), (uint)(ticks % TimeSpan.TicksPerSecond * 100));
    }

    private Caller CallerOf(FuseRequest request) => _callers.Resolve(request.Header.Uid, request.Header.Gid, request.Header.Pid);

    private FileHandle? Handle(ulong fh) => _handles.TryGetValue(fh, out var handle) ? handle : null;

    private LockOwner Owner(ulong lockOwner) => new(_fs.Session, LockDoor.Fuse, "local", lockOwner);

    /// <summary>
    /// The answer for an inode the kernel names that the volume no longer has: ESTALE, on which the kernel looks the path
    /// up again and retries (ENOENT would fail the call). It happens when another appliance replaced or removed a name
    /// and its notice has not arrived yet, or was lost.
    /// </summary>
    private static Errno Stale(Errno errno) => errno == Errno.ENOENT ? Errno.ESTALE : errno;

    private static void Reply(FuseRequest request, Errno errno)
    {
        if (errno == Errno.OK)
            request.Reply(0);
        else
            request.Fail((int)errno);
    }

    internal static FuseAttr Encode(InodeAttr attr, uint blockSize)
    {
        var (atime, atimeNs) = UnixTime.Split(attr.Atime);
        var (mtime, mtimeNs) = UnixTime.Split(attr.Mtime);
        var (ctime, ctimeNs) = UnixTime.Split(attr.Ctime);
        return new FuseAttr
        {
            Ino = attr.Ino,
            Size = (ulong)attr.Size,
            Blocks = (ulong)attr.Blocks,
            Atime = (ulong)atime,
            Mtime = (ulong)mtime,
            Ctime = (ulong)ctime,
            AtimeNsec = atimeNs,
            MtimeNsec = mtimeNs,
            CtimeNsec = ctimeNs,
            Mode = attr.StMode,
            Nlink = attr.Nlink,
            Uid = attr.Uid,
            Gid = attr.Gid,
            Rdev = attr.Rdev,
            BlkSize = blockSize,
        };
    }

    private FuseAttr Encode(InodeAttr attr) => Encode(attr, (uint)_options.MaxWrite);

    private FuseEntryOut Entry(InodeAttr attr) => new()
    {
        NodeId = attr.Ino,
        EntryValid = _entryValid,
        EntryValidNsec = _entryValidNsec,
        AttrValid = _attrValid,
        AttrValidNsec = _attrValidNsec,
        Attr = Encode(attr),
    };

    /// <summary>Answers with an entry; every entry handed to the kernel raises its lookup count.</summary>
    private void ReplyEntry(FuseRequest request, Result<InodeAttr> found)
    {
        if (!found.Ok)
        {
            request.Fail((int)found.Error);
            return;
        }
        _inodes.Remember(found.Value.Ino);
        request.Reply(Entry(found.Value));
    }

    private void ReplyAttr(FuseRequest request, Result<InodeAttr> found)
    {
        if (!found.Ok)
        {
            request.Fail((int)found.Error);
            return;
        }
        request.Reply(new FuseAttrOut { AttrValid = _attrValid, AttrValidNsec = _attrValidNsec, Attr = Encode(found.Value) });
    }

    /// <summary>Reads the NUL-terminated name at <paramref name="offset"/>; answers EINVAL and returns null when it is missing.</summary>
    private static string? Name(FuseRequest request, int offset, out int next)
    {
        var name = request.ReadString(offset, out next);
        if (name is null)
            request.Fail((int)Errno.EINVAL);
        return name;
    }

    private static int EntrySize => Marshal.SizeOf<FuseEntryOut>();
}

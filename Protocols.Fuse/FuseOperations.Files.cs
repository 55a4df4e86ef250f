using System.Runtime.InteropServices;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// OPEN, CREATE, READ, WRITE, FLUSH, RELEASE, FSYNC, FALLOCATE, LSEEK, COPY_FILE_RANGE.
internal sealed partial class FuseOperations
{
    private const uint ODirect = 0x4000;
    /// <summary>The open(2) bits the core understands; the kernel strips O_CREAT/O_EXCL from OPEN itself.</summary>
    private const OpenFlags PassedFlags = OpenFlags.AccessMask | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.Truncate | OpenFlags.Append;
    /// <summary>The kernel's own cap on one COPY_FILE_RANGE answer (its size field is 32 bits), page aligned.</summary>
    private const long MaxCopyChunk = uint.MaxValue & ~(long)(FuseConstants.PageSize - 1);

    private async ValueTask OpenAsync(FuseRequest request)
    {
        var input = request.Read<FuseOpenIn>();
        var opened = await _fs.OpenAsync(CallerOf(request), request.NodeId, (OpenFlags)input.Flags & PassedFlags).ConfigureAwait(false);
        if (!opened.Ok)
        {
            request.Fail((int)Stale(opened.Error));
            return;
        }
        _handles[(ulong)opened.Value.Id] = opened.Value;
        request.Reply(new FuseOpenOut { Fh = (ulong)opened.Value.Id, OpenFlags = OpenOutFlags(input.Flags) });
    }

    private async ValueTask CreateAsync(FuseRequest request)
    {
        var input = request.Read<FuseCreateIn>();
        var name = Name(request, Size<FuseCreateIn>(), out _);
        if (name is null)
            return;
        var created = await _fs.CreateAsync(CallerOf(request), request.NodeId, name, input.Mode & 0xFFF, (OpenFlags)input.Flags & PassedFlags).ConfigureAwait(false);
        if (!created.Ok)
        {
            request.Fail((int)created.Error);
            return;
        }
        var (attr, handle) = created.Value;
        _handles[(ulong)handle.Id] = handle;
        _inodes.Remember(attr.Ino);
        var body = request.ReplyBody;
        MemoryMarshal.Write(body, Entry(attr));
        MemoryMarshal.Write(body[EntrySize..], new FuseOpenOut { Fh = (ulong)handle.Id, OpenFlags = OpenOutFlags(input.Flags) });
        request.Reply(EntrySize + Size<FuseOpenOut>());
    }

    /// <summary>O_DIRECT bypasses the kernel's page cache, as it would on a local disk.</summary>
    private static FuseOpenOutFlags OpenOutFlags(uint openFlags) =>
        (openFlags & ODirect) != 0 ? FuseOpenOutFlags.DirectIo : FuseOpenOutFlags.None;

    private async ValueTask ReadAsync(FuseRequest request)
    {
        var input = request.Read<FuseReadIn>();
        if (Handle(input.Fh) is not { } handle)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        var size = (int)Math.Min(input.Size, (uint)request.ReplyBody.Length);
        // The data goes to the kernel from the block cache's memory, behind the out header, without a copy on the way.
        var read = await _fs.ReadViewAsync(handle, (long)input.Offset, size).ConfigureAwait(false);
        if (!read.Ok)
        {
            request.Fail((int)read.Error);
            return;
        }
        using var view = read.Value;
        request.Reply(view);
    }

    private async ValueTask WriteAsync(FuseRequest request)
    {
        var input = request.Read<FuseWriteIn>();
        var at = Size<FuseWriteIn>();
        if (request.PayloadLength < at + input.Size)
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        if (Handle(input.Fh) is not { } handle)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        var written = await _fs.WriteAsync(handle, (long)input.Offset, request.PayloadMemory(at, (int)input.Size)).ConfigureAwait(false);
        if (!written.Ok)
        {
            request.Fail((int)written.Error);
            return;
        }
        request.Reply(new FuseWriteOut { Size = (uint)written.Value });
    }

    /// <summary>close(2) of one descriptor: commit its writes, and drop the closing process's POSIX locks on the file.</summary>
    private async ValueTask FlushAsync(FuseRequest request)
    {
        var input = request.Read<FuseFlushIn>();
        if (Handle(input.Fh) is not { } handle)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        var flushed = await _fs.FlushAsync(handle).ConfigureAwait(false);
        await _fs.Locks.ReleaseOwnerAsync(request.NodeId, Owner(input.LockOwner), CancellationToken.None).ConfigureAwait(false);
        Reply(request, flushed);
    }

    private async ValueTask ReleaseAsync(FuseRequest request)
    {
        var input = request.Read<FuseReleaseIn>();
        if (!_handles.TryRemove(input.Fh, out var handle))
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        if ((input.ReleaseFlags & FuseRequestFlags.ReleaseFlockUnlock) != 0)
            await _fs.Locks.UnflockAsync(handle.Ino, Owner(input.LockOwner), CancellationToken.None).ConfigureAwait(false);
        Reply(request, await _fs.ReleaseAsync(handle).ConfigureAwait(false));
    }

    private async ValueTask FsyncAsync(FuseRequest request)
    {
        var input = request.Read<FuseFsyncIn>();
        if (Handle(input.Fh) is not { } handle)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        Reply(request, await _fs.FsyncAsync(handle, (input.FsyncFlags & FuseRequestFlags.FsyncDataOnly) != 0).ConfigureAwait(false));
    }

    private async ValueTask FallocateAsync(FuseRequest request)
    {
        var input = request.Read<FuseFallocateIn>();
        if (Handle(input.Fh) is not { } handle)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        Reply(request, await _fs.FallocateAsync(handle, (FallocateMode)input.Mode, (long)input.Offset, (long)input.Length).ConfigureAwait(false));
    }

    /// <summary>
    /// SEEK_DATA / SEEK_HOLE. The core does not tell where holes are, so the whole file counts as data and the only
    /// hole is the one at end of file, as POSIX allows; answering here (rather than ENOSYS) uses the current size,
    /// including writes still buffered, instead of the kernel's cached one.
    /// </summary>
    private async ValueTask LseekAsync(FuseRequest request)
    {
        var input = request.Read<FuseLseekIn>();
        if (input.Whence is not (FuseConstants.SEEK_DATA or FuseConstants.SEEK_HOLE))
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        var attr = await _fs.GetAttrAsync(request.NodeId).ConfigureAwait(false);
        if (!attr.Ok)
        {
            request.Fail((int)attr.Error);
            return;
        }
        var offset = (long)input.Offset;
        var size = attr.Value.Size;
        if (offset < 0 || offset >= size)
        {
            request.Fail((int)Errno.ENXIO);
            return;
        }
        request.Reply(new FuseLseekOut { Offset = (ulong)(input.Whence == FuseConstants.SEEK_DATA ? offset : size) });
    }

    private async ValueTask CopyFileRangeAsync(FuseRequest request)
    {
        var input = request.Read<FuseCopyFileRangeIn>();
        if (Handle(input.FhIn) is not { } source || Handle(input.FhOut) is not { } destination)
        {
            request.Fail((int)Errno.EBADF);
            return;
        }
        var length = (long)Math.Min(input.Len, (ulong)MaxCopyChunk);
        var copied = await _fs.CopyFileRangeAsync(source, (long)input.OffIn, destination, (long)input.OffOut, length).ConfigureAwait(false);
        if (!copied.Ok)
        {
            request.Fail((int)copied.Error);
            return;
        }
        request.Reply(new FuseWriteOut { Size = (uint)copied.Value });
    }
}

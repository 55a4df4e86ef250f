using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// LOOKUP, FORGET, BATCH_FORGET, GETATTR, SETATTR, ACCESS, STATFS.
internal sealed partial class FuseOperations
{
    /// <summary>Fragment size reported by STATFS, so df counts in 4 KiB units whatever the volume's block size.</summary>
    private const uint StatFsFragment = 4096;

    private async ValueTask LookupAsync(FuseRequest request)
    {
        var name = Name(request, 0, out _);
        if (name is null)
            return;
        Result<InodeAttr> found;
        switch (name)
        {
            // "." and ".." arrive from the kernel's export support (open_by_handle_at, NFS re-export).
            case ".":
                found = await _fs.GetAttrAsync(request.NodeId).ConfigureAwait(false);
                break;
            case "..":
                var self = await _fs.GetAttrAsync(request.NodeId).ConfigureAwait(false);
                found = !self.Ok ? self
                    : await _fs.GetAttrAsync(self.Value.Parent == 0 ? FsLimits.RootIno : self.Value.Parent).ConfigureAwait(false);
                break;
            default:
                found = await _fs.LookupAsync(CallerOf(request), request.NodeId, name).ConfigureAwait(false);
                break;
        }
        ReplyEntry(request, found);
    }

    private ValueTask Forget(FuseRequest request)
    {
        _inodes.Forget(request.NodeId, request.Read<FuseForgetIn>().NLookup);
        return default;
    }

    private ValueTask BatchForget(FuseRequest request)
    {
        var count = request.Read<FuseBatchForgetIn>().Count;
        var offset = Size<FuseBatchForgetIn>();
        var one = Size<FuseForgetOne>();
        for (var i = 0; i < count && offset + one <= request.PayloadLength; i++, offset += one)
        {
            var forget = request.Read<FuseForgetOne>(offset);
            _inodes.Forget(forget.NodeId, forget.NLookup);
        }
        return default;
    }

    private async ValueTask GetAttrAsync(FuseRequest request)
    {
        var found = await _fs.GetAttrAsync(request.NodeId).ConfigureAwait(false);
        ReplyAttr(request, found.Ok ? found : Stale(found.Error));
    }

    private async ValueTask SetAttrAsync(FuseRequest request)
    {
        var input = request.Read<FuseSetAttrIn>();
        var valid = input.Valid;
        var mask = SetAttrMask.None;
        if ((valid & FuseSetAttrValid.Mode) != 0)
            mask |= SetAttrMask.Mode;
        if ((valid & FuseSetAttrValid.Uid) != 0)
            mask |= SetAttrMask.Uid;
        if ((valid & FuseSetAttrValid.Gid) != 0)
            mask |= SetAttrMask.Gid;
        if ((valid & FuseSetAttrValid.Size) != 0)
            mask |= SetAttrMask.Size;
        if ((valid & FuseSetAttrValid.AtimeNow) != 0)
            mask |= SetAttrMask.AtimeNow;
        else if ((valid & FuseSetAttrValid.Atime) != 0)
            mask |= SetAttrMask.Atime;
        if ((valid & FuseSetAttrValid.MtimeNow) != 0)
            mask |= SetAttrMask.MtimeNow;
        else if ((valid & FuseSetAttrValid.Mtime) != 0)
            mask |= SetAttrMask.Mtime;
        if ((valid & FuseSetAttrValid.Ctime) != 0)
            mask |= SetAttrMask.Ctime;
        var change = new SetAttrRequest(
            mask,
            Mode: input.Mode & 0xFFF,
            Uid: input.Uid,
            Gid: input.Gid,
            Size: (long)input.Size,
            Atime: UnixTime.Join((long)input.Atime, input.AtimeNsec),
            Mtime: UnixTime.Join((long)input.Mtime, input.MtimeNsec),
            Ctime: UnixTime.Join((long)input.Ctime, input.CtimeNsec));
        var caller = CallerOf(request);
        // ftruncate(2) needs a descriptor open for writing, not write permission on the file as it is now.
        if ((valid & FuseSetAttrValid.Fh) != 0 && (mask & ~(SetAttrMask.Size | SetAttrMask.Ctime)) == 0
            && Handle(input.Fh) is { CanWrite: true })
            caller = Caller.Root;
        ReplyAttr(request, await _fs.SetAttrAsync(caller, request.NodeId, change).ConfigureAwait(false));
    }

    private async ValueTask AccessAsync(FuseRequest request)
    {
        var mask = (AccessMode)(request.Read<FuseAccessIn>().Mask & 7);
        Reply(request, await _fs.AccessAsync(CallerOf(request), request.NodeId, mask).ConfigureAwait(false));
    }

    private async ValueTask StatFsAsync(FuseRequest request)
    {
        var stat = await _fs.StatFsAsync().ConfigureAwait(false);
        if (!stat.Ok)
        {
            request.Fail((int)stat.Error);
            return;
        }
        request.Reply(EncodeStatFs(stat.Value));
    }

    internal static FuseKStatFs EncodeStatFs(StatFs stat) => new()
    {
        Blocks = (ulong)(stat.TotalBytes / StatFsFragment),
        Bfree = (ulong)(stat.AvailableBytes / StatFsFragment),
        Bavail = (ulong)(stat.AvailableBytes / StatFsFragment),
        Files = (ulong)(stat.UsedInodes + stat.AvailableInodes),
        Ffree = (ulong)stat.AvailableInodes,
        Bsize = (uint)stat.BlockSize,
        NameLen = (uint)stat.MaxNameLength,
        Frsize = StatFsFragment,
    };
}

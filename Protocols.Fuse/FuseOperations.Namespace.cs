using System.Text;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, RENAME2, LINK.
internal sealed partial class FuseOperations
{
    private async ValueTask ReadLinkAsync(FuseRequest request)
    {
        var target = await _fs.ReadlinkAsync(request.NodeId).ConfigureAwait(false);
        if (!target.Ok)
        {
            request.Fail((int)target.Error);
            return;
        }
        if (Encoding.UTF8.GetByteCount(target.Value) > request.ReplyBody.Length)
        {
            request.Fail((int)Errno.ENAMETOOLONG);
            return;
        }
        request.Reply(Encoding.UTF8.GetBytes(target.Value, request.ReplyBody));
    }

    private async ValueTask SymlinkAsync(FuseRequest request)
    {
        // The new name comes first, then the link's target.
        var name = Name(request, 0, out var next);
        if (name is null)
            return;
        var target = Name(request, next, out _);
        if (target is null)
            return;
        ReplyEntry(request, await _fs.SymlinkAsync(CallerOf(request), request.NodeId, name, target).ConfigureAwait(false));
    }

    private async ValueTask MknodAsync(FuseRequest request)
    {
        var input = request.Read<FuseMknodIn>();
        var name = Name(request, Size<FuseMknodIn>(), out _);
        if (name is null)
            return;
        // mknod(2) with no type bits makes a regular file.
        var type = (input.Mode & 0xF000) == 0 ? FileType.Regular : InodeAttr.TypeFromBits(input.Mode);
        if (type is null or FileType.Directory or FileType.Symlink)
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        ReplyEntry(request, await _fs.MknodAsync(CallerOf(request), request.NodeId, name, type.Value, input.Mode & 0xFFF, input.Rdev).ConfigureAwait(false));
    }

    private async ValueTask MkdirAsync(FuseRequest request)
    {
        var input = request.Read<FuseMkdirIn>();
        var name = Name(request, Size<FuseMkdirIn>(), out _);
        if (name is null)
            return;
        ReplyEntry(request, await _fs.MkdirAsync(CallerOf(request), request.NodeId, name, input.Mode & 0xFFF).ConfigureAwait(false));
    }

    private async ValueTask UnlinkAsync(FuseRequest request)
    {
        var name = Name(request, 0, out _);
        if (name is null)
            return;
        Reply(request, await _fs.UnlinkAsync(CallerOf(request), request.NodeId, name).ConfigureAwait(false));
    }

    private async ValueTask RmdirAsync(FuseRequest request)
    {
        var name = Name(request, 0, out _);
        if (name is null)
            return;
        Reply(request, await _fs.RmdirAsync(CallerOf(request), request.NodeId, name).ConfigureAwait(false));
    }

    private ValueTask RenameAsync(FuseRequest request) =>
        RenameAsync(request, request.Read<FuseRenameIn>().NewDir, 0, Size<FuseRenameIn>());

    private ValueTask Rename2Async(FuseRequest request)
    {
        var input = request.Read<FuseRename2In>();
        return RenameAsync(request, input.NewDir, input.Flags, Size<FuseRename2In>());
    }

    private async ValueTask RenameAsync(FuseRequest request, ulong newDir, uint flags, int namesAt)
    {
        var name = Name(request, namesAt, out var next);
        if (name is null)
            return;
        var newName = Name(request, next, out _);
        if (newName is null)
            return;
        // RENAME_WHITEOUT (4) belongs to overlay file systems; the core knows only NOREPLACE and EXCHANGE.
        if ((flags & ~(uint)(RenameFlags.NoReplace | RenameFlags.Exchange)) != 0)
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        Reply(request, await _fs.RenameAsync(CallerOf(request), request.NodeId, name, newDir, newName, (RenameFlags)flags).ConfigureAwait(false));
    }

    private async ValueTask LinkAsync(FuseRequest request)
    {
        var input = request.Read<FuseLinkIn>();
        var name = Name(request, Size<FuseLinkIn>(), out _);
        if (name is null)
            return;
        ReplyEntry(request, await _fs.LinkAsync(CallerOf(request), input.OldNodeId, request.NodeId, name).ConfigureAwait(false));
    }
}

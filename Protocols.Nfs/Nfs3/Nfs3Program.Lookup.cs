using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    /// <summary>LOOKUP (procedure 3), including "." and "..", which the file system does not store as names.</summary>
    private async ValueTask Lookup(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        if (dir == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            return;
        }
        var dirAttr = await _fs.GetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        if (!dirAttr.Ok)
        {
            WriteStatus(reply, HandleStatus(dirAttr.Error));
            WritePostOp(reply, null);
            return;
        }
        if (name is null)
        {
            WriteStatus(reply, Nfs3Status.NameTooLong);
            WritePostOp(reply, dirAttr.Value);
            return;
        }
        Result<InodeAttr> found;
        if (name is "." or "..")
        {
            if (dirAttr.Value.Type != FileType.Directory)
                found = Errno.ENOTDIR;
            else if (await _fs.AccessAsync(ctx.Caller, dir, AccessMode.Execute, ctx.Ct).ConfigureAwait(false) is var denied and not Errno.OK)
                found = denied;
            // ".." of the export's root is the root itself, as on a local file system's root: a client cannot walk
            // out of a sub-directory export.
            else if (name == "." || dirAttr.Value.Parent == 0 || dir == FsLimits.RootIno || dir == ctx.ExportRoot)
                found = dirAttr.Value;
            else
                found = await _fs.GetAttrAsync(dirAttr.Value.Parent, ctx.Ct).ConfigureAwait(false);
        }
        else
        {
            found = await _fs.LookupAsync(ctx.Caller, dir, name, ctx.Ct).ConfigureAwait(false);
        }
        if (!found.Ok)
        {
            WriteStatus(reply, Nfs3Errors.FromErrno(found.Error));
            WritePostOp(reply, dirAttr.Value);
            return;
        }
        WriteStatus(reply, Nfs3Status.Ok);
        WriteHandle(ctx, reply, found.Value.Ino);
        WritePostOp(reply, found.Value);
        WritePostOp(reply, dirAttr.Value);
    }

    /// <summary>READLINK (procedure 5).</summary>
    private async ValueTask ReadLink(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            return;
        }
        var attr = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!attr.Ok)
        {
            WriteStatus(reply, HandleStatus(attr.Error));
            WritePostOp(reply, null);
            return;
        }
        if (attr.Value.Type != FileType.Symlink)
        {
            WriteStatus(reply, Nfs3Status.Inval);
            WritePostOp(reply, attr.Value);
            return;
        }
        var target = await _fs.ReadlinkAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!target.Ok)
        {
            WriteStatus(reply, HandleStatus(target.Error));
            WritePostOp(reply, attr.Value);
            return;
        }
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr.Value);
        reply.WriteString(target.Value);
    }
}

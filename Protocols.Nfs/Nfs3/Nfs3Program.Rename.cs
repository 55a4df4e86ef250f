using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    /// <summary>RENAME (procedure 14); also how clients "silly-rename" a file that is unlinked while open (.nfsXXXX).</summary>
    private async ValueTask Rename(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var fromDir = ReadHandle(ctx, ref args);
        var fromName = ReadName(ref args);
        var toDir = ReadHandle(ctx, ref args);
        var toName = ReadName(ref args);
        if (fromDir == 0 || toDir == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WriteWcc(reply, null, null);
            WriteWcc(reply, null, null);
            return;
        }
        var fromBefore = await TryGetAttrAsync(fromDir, ctx.Ct).ConfigureAwait(false);
        var toBefore = fromDir == toDir ? fromBefore : await TryGetAttrAsync(toDir, ctx.Ct).ConfigureAwait(false);
        var status = fromBefore is null || toBefore is null ? Nfs3Status.Stale
            : ctx.ReadOnly ? Nfs3Status.RoFs
            : fromName is null ? Nfs3Status.NameTooLong
            : fromName is "" or "." or ".." ? Nfs3Status.Inval
            : CheckName(toName);
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WriteWcc(reply, fromBefore, fromBefore);
            WriteWcc(reply, toBefore, toBefore);
            return;
        }
        var replaced = await _fs.LookupAsync(ctx.Caller, toDir, toName!, ctx.Ct).ConfigureAwait(false);
        var result = await _fs.RenameAsync(ctx.Caller, fromDir, fromName!, toDir, toName!, RenameFlags.None, ctx.Ct).ConfigureAwait(false);
        if (result == Errno.OK && replaced.Ok && replaced.Value.Type == FileType.Regular && replaced.Value.Nlink <= 1)
            await _files.ForgetAsync(replaced.Value.Ino).ConfigureAwait(false);
        var fromAfter = await TryGetAttrAsync(fromDir, ctx.Ct).ConfigureAwait(false);
        var toAfter = fromDir == toDir ? fromAfter : await TryGetAttrAsync(toDir, ctx.Ct).ConfigureAwait(false);
        WriteStatus(reply, Nfs3Errors.FromErrno(result));
        WriteWcc(reply, fromBefore, fromAfter);
        WriteWcc(reply, toBefore, toAfter);
    }

    /// <summary>LINK (procedure 15).</summary>
    private async ValueTask Link(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var file = ReadHandle(ctx, ref args);
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        if (file == 0 || dir == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            WriteWcc(reply, null, null);
            return;
        }
        var fileBefore = await TryGetAttrAsync(file, ctx.Ct).ConfigureAwait(false);
        var dirBefore = await TryGetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        var status = fileBefore is null || dirBefore is null ? Nfs3Status.Stale
            : ctx.ReadOnly ? Nfs3Status.RoFs
            : CheckName(name);
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WritePostOp(reply, fileBefore);
            WriteWcc(reply, dirBefore, dirBefore);
            return;
        }
        var linked = await _fs.LinkAsync(ctx.Caller, file, dir, name!, ctx.Ct).ConfigureAwait(false);
        var dirAfter = await TryGetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        WriteStatus(reply, Nfs3Errors.FromErrno(linked.Error));
        WritePostOp(reply, linked.Ok ? linked.Value : fileBefore);
        WriteWcc(reply, dirBefore, dirAfter);
    }
}

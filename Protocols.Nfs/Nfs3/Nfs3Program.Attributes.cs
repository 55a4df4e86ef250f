using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    private const uint AccessRead = 0x01;
    private const uint AccessLookup = 0x02;
    private const uint AccessModify = 0x04;
    private const uint AccessExtend = 0x08;
    private const uint AccessDelete = 0x10;
    private const uint AccessExecute = 0x20;

    /// <summary>GETATTR (procedure 1).</summary>
    private async ValueTask GetAttr(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            return;
        }
        var attr = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!attr.Ok)
        {
            WriteStatus(reply, HandleStatus(attr.Error));
            return;
        }
        WriteStatus(reply, Nfs3Status.Ok);
        Nfs3Attributes.WriteFattr(reply, attr.Value, _fsid);
    }

    /// <summary>SETATTR (procedure 2), with the ctime guard that makes a retransmitted SETATTR harmless.</summary>
    private async ValueTask SetAttr(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        var request = Nfs3Attributes.ReadSattr(ref args);
        long? guard = args.ReadBool() ? Nfs3Attributes.ReadTime(ref args) : null;
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WriteWcc(reply, null, null);
            return;
        }
        var before = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!before.Ok)
        {
            WriteStatus(reply, HandleStatus(before.Error));
            WriteWcc(reply, null, null);
            return;
        }
        if (ctx.ReadOnly)
        {
            WriteStatus(reply, Nfs3Status.RoFs);
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        if (guard is { } ctime && ctime != before.Value.Ctime)
        {
            WriteStatus(reply, Nfs3Status.NotSync);
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        if (request.Mask == SetAttrMask.None)
        {
            WriteStatus(reply, Nfs3Status.Ok);
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        var after = await _fs.SetAttrAsync(ctx.Caller, ino, request, ctx.Ct).ConfigureAwait(false);
        WriteStatus(reply, Nfs3Errors.FromErrno(after.Error));
        WriteWcc(reply, before.Value, after.Ok ? after.Value : before.Value);
    }

    /// <summary>ACCESS (procedure 4): each asked-for bit checked against the file system's own permission rules.</summary>
    private async ValueTask Access(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        var wanted = args.ReadUInt32();
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
        var isDir = attr.Value.Type == FileType.Directory;
        uint granted = 0;
        if ((wanted & AccessRead) != 0 && await AllowsAsync(AccessMode.Read).ConfigureAwait(false))
            granted |= AccessRead;
        if ((wanted & (AccessLookup | AccessExecute)) != 0 && await AllowsAsync(AccessMode.Execute).ConfigureAwait(false))
            granted |= wanted & (isDir ? AccessLookup : AccessExecute);
        const uint writeBits = AccessModify | AccessExtend | AccessDelete;
        if ((wanted & writeBits) != 0 && !ctx.ReadOnly && await AllowsAsync(AccessMode.Write).ConfigureAwait(false))
            granted |= wanted & (isDir ? writeBits : AccessModify | AccessExtend);
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr.Value);
        reply.WriteUInt32(granted);

        async ValueTask<bool> AllowsAsync(AccessMode mode) =>
            await _fs.AccessAsync(ctx.Caller, ino, mode, ctx.Ct).ConfigureAwait(false) == Errno.OK;
    }
}

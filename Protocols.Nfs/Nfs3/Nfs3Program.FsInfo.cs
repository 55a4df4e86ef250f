using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    private const uint PropertyLink = 0x01;
    private const uint PropertySymlink = 0x02;
    private const uint PropertyHomogeneous = 0x08;
    private const uint PropertyCanSetTime = 0x10;
    /// <summary>Preferred READDIR size: large pages make `ls -l` of a big directory take few round trips.</summary>
    private const uint PreferredReadDir = 256 * 1024;

    /// <summary>FSSTAT (procedure 18), from the volume's statfs.</summary>
    private async ValueTask FsStat(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var attr = await ReadFileArgAsync(ctx, args, reply).ConfigureAwait(false);
        if (attr is null)
            return;
        var statfs = await _fs.StatFsAsync(ctx.Ct).ConfigureAwait(false);
        if (!statfs.Ok)
        {
            WriteStatus(reply, Nfs3Errors.FromErrno(statfs.Error));
            WritePostOp(reply, attr);
            return;
        }
        var s = statfs.Value;
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr);
        reply.WriteUInt64((ulong)s.TotalBytes);
        reply.WriteUInt64((ulong)s.AvailableBytes);
        reply.WriteUInt64((ulong)s.AvailableBytes);
        reply.WriteUInt64((ulong)(s.UsedInodes + s.AvailableInodes));
        reply.WriteUInt64((ulong)s.AvailableInodes);
        reply.WriteUInt64((ulong)s.AvailableInodes);
        reply.WriteUInt32(0); // invarsec: the figures change at any time
    }

    /// <summary>FSINFO (procedure 19): transfer sizes, limits and what the server supports.</summary>
    private async ValueTask FsInfo(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var attr = await ReadFileArgAsync(ctx, args, reply).ConfigureAwait(false);
        if (attr is null)
            return;
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr);
        reply.WriteUInt32(MaxTransfer);
        reply.WriteUInt32(MaxTransfer);
        reply.WriteUInt32(4096);
        reply.WriteUInt32(MaxTransfer);
        reply.WriteUInt32(MaxTransfer);
        reply.WriteUInt32(4096);
        reply.WriteUInt32(PreferredReadDir);
        reply.WriteUInt64((ulong)FsLimits.MaxFileSize);
        reply.WriteUInt32(0);
        reply.WriteUInt32(1); // time_delta: times are kept to the nanosecond
        reply.WriteUInt32(PropertyLink | PropertySymlink | PropertyHomogeneous | PropertyCanSetTime);
    }

    /// <summary>PATHCONF (procedure 20).</summary>
    private async ValueTask PathConf(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var attr = await ReadFileArgAsync(ctx, args, reply).ConfigureAwait(false);
        if (attr is null)
            return;
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr);
        reply.WriteUInt32(FsLimits.MaxLinks);
        reply.WriteUInt32(FsLimits.MaxNameBytes);
        reply.WriteBool(true);  // no_trunc: long names are refused, not cut
        reply.WriteBool(true);  // chown_restricted
        reply.WriteBool(false); // case_insensitive
        reply.WriteBool(true);  // case_preserving
    }

    /// <summary>Decodes the single file handle these procedures take; on failure writes the error reply and returns no attributes.</summary>
    private async ValueTask<InodeAttr?> ReadFileArgAsync(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            return null;
        }
        var attr = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!attr.Ok)
        {
            WriteStatus(reply, HandleStatus(attr.Error));
            WritePostOp(reply, null);
            return null;
        }
        return attr.Value;
    }
}
